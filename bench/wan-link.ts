/**
 * The simulated WAN of part (wan) as the bench sees it: the links bench/wan-net.sh built (this
 * process runs in the master namespace pitrb-m), sshd on the standby "host" pitrb-s, the delaying
 * relay in front of it, and the byte counters of the master's veth end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SLOW_LINK, startSshd, type SshdHandle } from '../test/rig/sshd.js';
import { repoRoot } from './ours.js';

export const MASTER_NS = '/run/netns/pitrb-m';
export const STANDBY_NS = '/run/netns/pitrb-s';

export interface WanLink {
  /** "100 Mbit/s". */
  name: string;
  /** Bits per second of the tbf on both ends. */
  rateBits: number;
  /** The master's veth end (its counters are read). */
  dev: string;
  masterAddr: string;
  standbyAddr: string;
}

export const LINKS: readonly WanLink[] = [
  { name: '100 Mbit/s', rateBits: 100e6, dev: 'pitrb-m0', masterAddr: '10.214.0.1', standbyAddr: '10.214.0.2' },
  { name: '1 Gbit/s', rateBits: 1e9, dev: 'pitrb-m1', masterAddr: '10.214.0.5', standbyAddr: '10.214.0.6' },
];

/** Throws, saying how, unless this process runs in pitrb-m with the links of bench/wan-net.sh. */
export function requireWan(): void {
  const why = (() => {
    try {
      accessSync(STANDBY_NS);
      accessSync(SLOW_LINK.nsenter);
    } catch (err) {
      return (err as Error).message;
    }
    if (!readFileSync('/proc/net/dev', 'utf8').includes(LINKS[0]!.dev)) return `this process is not in ${MASTER_NS}`;
    return undefined;
  })();
  if (why) throw new Error(`part wan needs the namespaces of bench/wan-net.sh and runs inside pitrb-m (${why}): run it as root: bash bench/run.sh --only wan`);
}

/** argv that runs `argv` in the standby's namespace (the capability is dropped when nsenter execs). */
export function inStandby(argv: readonly string[]): string[] {
  return [SLOW_LINK.nsenter, `--net=${STANDBY_NS}`, '--', ...argv];
}

/** rx + tx bytes of a device in this namespace (/proc/net/dev is per namespace). */
export function wireBytes(dev: string): number {
  const line = readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .find((l) => l.trim().startsWith(`${dev}:`));
  if (!line) throw new Error(`no device ${dev} in /proc/net/dev`);
  const f = line.split(':')[1]!.trim().split(/\s+/).map(Number);
  return f[0]! + f[8]!;
}

/** sshd on the standby host, listening on the link's standby address. */
export function standbySshd(link: WanLink): Promise<SshdHandle> {
  return startSshd({ logLevel: 'ERROR', host: link.standbyAddr, netns: STANDBY_NS });
}

/** A running relay (a child process). */
export interface Relay {
  port: number;
  stop(): void;
}

/** Starts bench/delay-relay.ts (in the standby's namespace when `standbySide`) toward host:port. */
export async function startRelay(host: string, port: number, delayMs: number, standbySide = false): Promise<Relay> {
  const argv = [process.execPath, '--import', 'tsx', join(repoRoot, 'bench', 'delay-relay.ts'), '--to', `${host}:${port}`, '--delay-ms', String(delayMs)];
  const full = standbySide ? inStandby(argv) : argv;
  const child: ChildProcess = spawn(full[0]!, full.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const relayPort = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      const m = /^listening (\d+)$/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`delay relay exited (${code}) before listening`)));
  });
  return {
    port: relayPort,
    stop: () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
    },
  };
}

/**
 * What a client uses to reach `sshd`: itself (0 ms), or the relay on 127.0.0.1 with a
 * known_hosts file of its own naming [127.0.0.1]:relayport (host keys are still verified).
 */
export function throughRelay(sshd: SshdHandle, relay: Relay | undefined, dir: string): SshdHandle {
  if (!relay) return sshd;
  const knownHostsFile = join(dir, `known_hosts_relay_${relay.port}`);
  writeFileSync(knownHostsFile, `[127.0.0.1]:${relay.port} ${sshd.hostPublicKey}\n`, { mode: 0o600 });
  return { ...sshd, host: '127.0.0.1', port: relay.port, knownHostsFile };
}

/**
 * A real OpenSSH sshd for end-to-end tests, run as the current (unprivileged) user on
 * 127.0.0.1 with its own host key, client key and config in a temp dir. Run like that, sshd
 * needs no root and serves exactly that user. Tear-down: registered with cleanup.ts, so a
 * test file's `after(cleanupAll)` (or an explicit `after(() => sshd.dispose())` at module
 * level) stops it and removes its dir, and on process exit any sshd still running is killed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshTarget } from '../../packages/core/src/ssh/index.js';
import { onCleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { makeTempDir } from './tmp.js';

const SSHD = '/usr/sbin/sshd';

/** Options of startSshd. */
export interface SshdOptions {
  /** sshd LogLevel; default VERBOSE (the log is in `<dir>/sshd.log`). */
  logLevel?: string;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
  /**
   * Run sshd inside the slow-link namespace (SLOW_LINK), listening on its address: what the
   * master sends it crosses a 2 Mbit/s tbf. Throws when scripts/setup.sh has not built it.
   */
  slowLink?: boolean;
  /** Listen on this address instead of 127.0.0.1 (bench/part-wan: a veth address). */
  host?: string;
  /** Run sshd in this network namespace (a /run/netns path), entered with SLOW_LINK.nsenter. */
  netns?: string;
}

/**
 * The slow link scripts/setup.sh builds as root: netns pitr-slow, joined to the root namespace
 * by a veth pair with a tbf qdisc of 2 Mbit/s on our end, and a copy of nsenter with
 * cap_sys_admin that group pitr may run (the capability is gone once it execs sshd).
 */
export const SLOW_LINK = { netns: '/run/netns/pitr-slow', nsenter: '/usr/local/lib/pitrtools/nsenter', host: '10.213.0.2' } as const;

/** Throws, saying how to build it, when the slow link of scripts/setup.sh is missing. */
export function requireSlowLink(): void {
  for (const p of [SLOW_LINK.netns, SLOW_LINK.nsenter]) {
    try {
      accessSync(p, p === SLOW_LINK.nsenter ? fsConstants.X_OK : fsConstants.F_OK);
    } catch {
      throw new Error(
        `the slow link is missing (${p}): run \`bash scripts/setup.sh\` as root (it builds netns pitr-slow with a 2 Mbit/s tbf and ${SLOW_LINK.nsenter})`,
      );
    }
  }
}

/** A running test sshd. */
export interface SshdHandle {
  /** 127.0.0.1, or SLOW_LINK.host behind the slow link. */
  host: string;
  port: number;
  /** The current user: the only one this sshd can serve. */
  user: string;
  /** Private key (no passphrase) that authorized_keys accepts. */
  clientKey: string;
  /** known_hosts file holding this server's `[127.0.0.1]:port` line. */
  knownHostsFile: string;
  /** `ssh-ed25519 AAAA...` of the host key. */
  hostPublicKey: string;
  /** The host key blob (what an SSH client is offered). */
  hostKeyBlob: Buffer;
  dir: string;
  logFile: string;
  /** Starts sshd again on the same port (after stop() or kill()). */
  start(): Promise<void>;
  /** SIGTERM to sshd and its per-connection children; resolves when the listener is gone. */
  stop(): Promise<void>;
  /** SIGKILL to sshd and every child at once: a server crash, connections cut. */
  kill(): Promise<void>;
  /** SIGSTOP to sshd and its children: a peer that hangs without closing the connection. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** stop() and remove the temp dir. */
  dispose(): Promise<void>;
  /** The sshd log so far (for failure messages). */
  log(): string;
}

/** Pids of every process below `root` (sshd's session children call setsid, so process groups do not help). */
function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = kids.get(ppid) ?? [];
      list.push(Number(name));
      kids.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of kids.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

function signalTree(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  for (const pid of [child.pid, ...descendants(child.pid)]) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Polls until host:port answers with an SSH banner, the process dies, or the deadline passes. */
async function waitForBanner(host: string, port: number, child: ChildProcess, deadlineMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (child.exitCode !== null || child.signalCode !== null) return 'exited';
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      const t = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 1000);
      s.once('data', (d: Buffer) => {
        clearTimeout(t);
        s.destroy();
        resolve(d.toString('latin1').startsWith('SSH-'));
      });
      s.once('error', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (ok) return 'ready';
    await new Promise((r) => setTimeout(r, 50));
  }
  return 'timeout';
}

function keygen(file: string, comment: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

/** Starts a private sshd on 127.0.0.1 as the current user; refuses to run as root. */
export async function startSshd(opts: SshdOptions = {}): Promise<SshdHandle> {
  if (process.getuid?.() === 0) throw new Error('startSshd: refusing to run sshd as root; run the tests as an unprivileged user');
  if (opts.slowLink) requireSlowLink();
  const host = opts.host ?? (opts.slowLink ? SLOW_LINK.host : '127.0.0.1');
  const netns = opts.netns ?? (opts.slowLink ? SLOW_LINK.netns : undefined);
  const tmp = makeTempDir('pitr-sshd-');
  const dir = tmp.path;
  const hostKey = join(dir, 'host_ed25519_key');
  const clientKey = join(dir, 'client_ed25519');
  keygen(hostKey, 'pitr-test-host');
  keygen(clientKey, 'pitr-test-client');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const hostKeyBlob = Buffer.from(hostPublicKey.split(' ')[1]!, 'base64');
  const logFile = join(dir, 'sshd.log');
  const configFile = join(dir, 'sshd_config');
  const knownHostsFile = join(dir, 'known_hosts');
  let port = 0;
  let child: ChildProcess | undefined;

  const writeConfig = (): void => {
    writeFileSync(
      configFile,
      [
        `ListenAddress ${host}`,
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no', // the temp dir's parent /tmp is world-writable
        'Subsystem sftp internal-sftp',
        'AllowTcpForwarding yes',
        'AllowStreamLocalForwarding yes',
        `LogLevel ${opts.logLevel ?? 'VERBOSE'}`,
        ...(opts.extraConfig ?? []),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  };

  const launch = async (): Promise<'ready' | 'exited' | 'timeout'> => {
    writeConfig();
    const fd = openSync(logFile, 'a', 0o600);
    const argv = [SSHD, '-D', '-e', '-f', configFile];
    // nsenter execs sshd in its place (no fork), so the child is sshd itself and its tree is the usual one.
    const c = netns
      ? spawn(SLOW_LINK.nsenter, [`--net=${netns}`, '--', ...argv], { stdio: ['ignore', 'ignore', fd] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    child = c;
    const state = await waitForBanner(host, port, c, 10_000);
    if (state !== 'ready') signalTree(c, 'SIGKILL');
    return state;
  };

  const waitExit = async (c: ChildProcess, ms: number): Promise<boolean> => {
    if (c.exitCode !== null || c.signalCode !== null) return true;
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      c.once('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  };

  const stopTree = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    signalTree(c, 'SIGTERM');
    signalTree(c, 'SIGCONT'); // a frozen sshd acts on SIGTERM only once continued
    if (!(await waitExit(c, 5000))) {
      signalTree(c, 'SIGKILL');
      await waitExit(c, 5000);
    }
  };

  const handle: SshdHandle = {
    host,
    port: 0,
    user: userInfo().username,
    clientKey,
    knownHostsFile,
    hostPublicKey,
    hostKeyBlob,
    dir,
    logFile,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error('sshd is already running');
      const state = await launch();
      if (state !== 'ready') throw new Error(`sshd did not come back on port ${port} (${state}):\n${handle.log()}`);
    },
    stop: () => stopTree(),
    async kill() {
      const c = child;
      if (!c) return;
      signalTree(c, 'SIGKILL');
      await waitExit(c, 5000);
    },
    freeze() {
      if (child) signalTree(child, 'SIGSTOP');
    },
    thaw() {
      if (child) signalTree(child, 'SIGCONT');
    },
    dispose: async () => undefined, // replaced below once registered with cleanup.ts
  };

  // A port that was free a moment ago may be taken by a parallel test file: try another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const state = await launch();
    if (state === 'ready') break;
    const log = handle.log();
    if (attempt >= 5 || !/Address already in use|Cannot bind/i.test(log)) {
      await tmp.remove();
      throw new Error(`sshd did not start (${state}):\n${log}`);
    }
  }
  handle.port = port;
  writeFileSync(knownHostsFile, `[${host}]:${port} ${hostPublicKey}\n`, { mode: 0o600 });

  const release = onCleanup(
    `sshd :${port}`,
    async () => {
      await stopTree();
      await tmp.remove();
    },
    () => {
      if (child) signalTree(child, 'SIGKILL');
      if (process.env.PITR_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    },
  );
  handle.dispose = release;
  return handle;
}

/** Connection settings for this sshd in the shape of core's SshTarget (ssh_timeout 5 s, strict host keys). */
export function sshTargetFor(s: SshdHandle, over: Partial<SshTarget> = {}): SshTarget {
  return {
    host: s.host,
    port: s.port,
    user: s.user,
    identityFiles: [s.clientKey],
    knownHostsFile: s.knownHostsFile,
    hostKeyCheck: 'yes',
    connectTimeoutMs: 5000,
    ...over,
  };
}

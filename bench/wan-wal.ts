/**
 * Scenarios (a) and (b) of part (wan): a WAL burst under PostgreSQL's archiver (the burst runner
 * of part (a), unchanged) shipped from the master namespace to sshd on the standby namespace over
 * one link, direct (0 ms) or through the delaying relay; and a single segment on a warm path
 * against one `ssh cat` of it over a warm OpenSSH connection plus one round trip.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect } from 'node:net';
import { startPostgres } from '../test/rig/postgres.js';
import type { SshdHandle } from '../test/rig/sshd.js';
import { makeTempDir, type TempDir } from '../test/rig/tmp.js';
import { must, now, shellLine } from './exec.js';
import { sha256File } from './files.js';
import { cmdArchiverBin, cmdStandbyBin, unavailableReason } from './ours.js';
import { queuePeakRssKiB } from './queue-log.js';
import { median } from './results.js';
import { sshClientFor } from './ssh-client.js';
import { runBurst } from './wal-burst.js';
import { cmdArchiverMethod } from './wal-cmd-archiver.js';
import type { WalMethod } from './wal-method.js';
import { pgbackrestMethod } from './wal-pgbackrest.js';
import { rsyncSshMethod } from './wal-peers.js';
import type { WalTemplate } from './wal-template.js';
import { drainLeftovers } from './leftovers.js';
import { wireBytes, type WanLink } from './wan-link.js';

/** One measured row of part (wan). */
export interface WanRow {
  scenario: string;
  link: string;
  delayMs: number;
  method: string;
  seconds?: number;
  /** Bytes through the master's veth end (rx + tx) during the run, set-up included. */
  wireBytes?: number;
  /** Peak RSS (kB) of our own processes in the run (cmd_queue's logged peak, -B under /usr/bin/time). */
  rssKiB?: number;
  /** Why the row has no time (a failure, or "not available: ..."). */
  problem?: string;
  checked?: string;
  /** Marks the row the ratios of its group divide by. */
  reference?: boolean;
  /** Extra words for the table (e.g. how the reference was derived). */
  note?: string;
}

/**
 * The incompressible twin of a WAL template: every ready segment keeps its first 8 KiB page
 * (the long page header pgBackRest and cmd_archiver read) and gets random bytes after it. Only
 * the transfer cost is measured with it: nothing replays these segments.
 */
export async function randomTemplate(tpl: WalTemplate): Promise<{ tpl: WalTemplate; dir: TempDir }> {
  const dir = makeTempDir('pitr-bench-wal-random-');
  const pgdata = join(dir.path, 'data');
  await must(['cp', '-a', tpl.cluster.pgdata, pgdata]);
  const sha256 = new Map<string, string>();
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const s of tpl.segments) {
    const f = join(pgdata, 'pg_wal', s);
    const fd = openSync(f, 'r+');
    try {
      const size = fstatSync(fd).size;
      for (let off = 8192; off < size; off += buf.length) writeSync(fd, randomFillSync(buf), 0, Math.min(buf.length, size - off), off);
    } finally {
      closeSync(fd);
    }
    sha256.set(s, await sha256File(f));
  }
  return { tpl: { ...tpl, cluster: { ...tpl.cluster, pgdata }, sha256 }, dir };
}

/** The methods of scenario (a) against one reachable sshd (direct or the relay's view of it). */
export function burstMethods(target: () => SshdHandle, sshDir: string, compress: readonly string[]): WalMethod[] {
  const ssh = () => sshClientFor(target(), sshDir);
  const relabel = (m: WalMethod, label: string): WalMethod => ({ ...m, label });
  return [
    ...compress.map((c) => cmdArchiverMethod(1, () => [target()], c)),
    relabel(pgbackrestMethod(true, target, ssh, 'lz4'), 'pgbackrest archive-push async, compress-type=lz4'),
    relabel(pgbackrestMethod(true, target, ssh, 'zst'), 'pgbackrest archive-push async, compress-type=zst'),
    rsyncSshMethod(ssh, true),
  ];
}

/** Runs one burst of `m` and turns it into a row. */
export async function burstRow(tpl: WalTemplate, m: WalMethod, link: WanLink, delayMs: number, scenario: string): Promise<WanRow> {
  const row: WanRow = { scenario, link: link.name, delayMs, method: m.label };
  const why = await m.unavailable();
  if (why) return { ...row, problem: `not available: ${why}` };
  const b0 = wireBytes(link.dev);
  const b = await runBurst(tpl, m);
  row.wireBytes = wireBytes(link.dev) - b0;
  if (b.problems.length) row.problem = b.problems.join('; ');
  else if (b.seconds !== undefined) row.seconds = b.seconds;
  if (b.checked) row.checked = b.checked;
  if (b.helperRssKiB !== undefined) row.rssKiB = b.helperRssKiB;
  return row;
}

/**
 * What one plain OpenSSH stream takes on the path, for the incompressible burst: the burst's
 * segments (concatenated: 80 MiB for 5) through one fresh `ssh host 'cat > /dev/null'`, connect,
 * key exchange and authentication included as a cold start of ours includes them. Not a
 * reference: the floor under any SSH tool against the raw time (TCP/IP headers alone are ~3.5 %
 * of what tbf counts).
 */
export async function sshCatBurstRow(tpl: WalTemplate, target: SshdHandle, sshDir: string, link: WanLink, delayMs: number, scenario: string): Promise<WanRow> {
  const row: WanRow = { scenario, link: link.name, delayMs, method: 'ssh cat of the same bytes (one fresh OpenSSH connection)' };
  const ssh = sshClientFor(target, sshDir);
  const bytes = Buffer.concat(tpl.segments.map((s) => readFileSync(join(tpl.cluster.pgdata, 'pg_wal', s))));
  const b0 = wireBytes(link.dev);
  try {
    const t0 = now();
    await must([ssh.wrapper, '-p', String(target.port), ssh.login, 'cat > /dev/null'], { stdin: bytes });
    row.seconds = now() - t0;
    row.wireBytes = wireBytes(link.dev) - b0;
    row.checked = 'connect included, nothing stored';
  } catch (err) {
    row.problem = err instanceof Error ? err.message : String(err);
  }
  return row;
}

/** Seconds from a TCP connect to its 'connect' event (`untilBanner` false) or to sshd's first bytes. */
export function connectTime(host: string, port: number, untilBanner: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const s = connect({ host, port, noDelay: true });
    s.once(untilBanner ? 'data' : 'connect', () => {
      resolve(now() - t0);
      s.destroy();
    });
    s.once('error', reject);
  });
}

async function medianOf(n: number, f: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await f());
  return median(xs)!;
}

/**
 * One round trip of the path to `target`: the TCP handshake time on the veth, plus, through the
 * relay, what the banner takes more than on the direct path (the relay holds the connect and the
 * banner D ms each; sshd's own time to send its banner, a fork and exec, cancels out).
 */
export async function pathRtt(target: SshdHandle, direct: SshdHandle): Promise<number> {
  const veth = await medianOf(5, () => connectTime(direct.host, direct.port, false));
  if (target === direct) return veth;
  const viaRelay = await medianOf(5, () => connectTime(target.host, target.port, true));
  const plain = await medianOf(5, () => connectTime(direct.host, direct.port, true));
  return veth + Math.max(0, viaRelay - plain);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Scenario (b): a cluster archiving with cmd_archiver to `target`; after a warm-up of 3 segments,
 * `n` times: a segment filled to ~64 KiB of its end with hex text, the archiver idle, then t0,
 * pg_switch_wal(), and pg_stat_archiver polled every 5 ms until it is archived. The reference:
 * the same segment file pushed by `ssh host 'cat > FILE'` over a warm ControlMaster connection,
 * plus one round trip of the path (pathRtt).
 */
export async function singleSegmentRows(
  target: SshdHandle,
  direct: SshdHandle,
  link: WanLink,
  delayMs: number,
  n: number,
  compress: string,
): Promise<WanRow[]> {
  const base = { scenario: '(b) single segment, warm path', link: link.name, delayMs };
  const ours: WanRow = { ...base, method: `cmd_archiver, warm cmd_queue${compress === 'none' ? '' : `, compress ${compress}`}` };
  const ref: WanRow = { ...base, method: 'ssh cat of the segment (warm ControlMaster) + 1 RTT', reference: true };
  const why = await unavailableReason(cmdArchiverBin);
  if (why) return [{ ...ours, problem: `not available: ${why}` }, ref];
  const tmp = makeTempDir('pitr-bench-wan-single-');
  const dest = join(tmp.path, 'archive');
  mkdirSync(dest);
  const ini = join(tmp.path, 'cmd_archiver.ini');
  const front = join(dirname(cmdArchiverBin), 'cmd_archiver');
  const cluster = await startPostgres({ name: 'wan-single', parent: tmp.path, conf: { archive_mode: 'on', archive_command: "''", autovacuum: 'off' } });
  let ctl: ReturnType<typeof spawn> | undefined;
  try {
    writeFileSync(
      ini,
      [
        '[DEFAULT]',
        `pgdata: ${cluster.pgdata}`,
        `l_archivedir: ${join(tmp.path, 'queue')}`,
        `r_archivedir: ${dest}`,
        `slaves: ${target.host}:${target.port}`,
        `user: ${target.user}`,
        `ssh_identity: ${target.clientKey}`,
        `ssh_known_hosts: ${target.knownHostsFile}`,
        // The WAL receiver on the slave (compress) is this checkout's cmd_standby.
        ...(compress === 'none' ? [] : [`compress: ${compress}`, `slave_cmd_standby: ${cmdStandbyBin}`]),
        '',
      ].join('\n'),
    );
    await must([process.execPath, cmdArchiverBin, '-C', ini, '-I'], { cwd: tmp.path });
    const c = await cluster.client();
    const stats = async (): Promise<{ archived: number; failed: number }> => {
      const r = await c.query<{ a: string; f: string }>('SELECT archived_count AS a, failed_count AS f FROM pg_stat_archiver');
      return { archived: Number(r.rows[0]!.a), failed: Number(r.rows[0]!.f) };
    };
    const idle = async (want: number): Promise<void> => {
      const end = Date.now() + 120_000;
      for (;;) {
        const s = await stats();
        if (s.failed > 0) throw new Error(`archive_command failed ${s.failed} time(s)`);
        if (s.archived >= want) return;
        if (Date.now() > end) throw new Error(`archiver not idle after 120 s (${s.archived}/${want})`);
        await sleep(5);
      }
    };
    const fill = async (): Promise<string> => {
      // Fill the current segment to ~64 KiB of its end (hex text: compresses about 2x, like busy WAL).
      const r = await c.query<{ seg: string; left: string }>(
        "SELECT pg_walfile_name(pg_current_wal_lsn()) AS seg, 16777216 - (pg_current_wal_lsn() - '0/0'::pg_lsn) % 16777216 AS left",
      );
      const left = Number(r.rows[0]!.left) - 65536;
      if (left > 0)
        await c.query("SELECT pg_logical_emit_message(false, 'bench', string_agg(md5(random()::text), '')) FROM generate_series(1, $1)", [
          Math.floor(left / 40),
        ]);
      return (await c.query<{ seg: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS seg')).rows[0]!.seg;
    };
    await c.query(`ALTER SYSTEM SET archive_command = '${`${shellLine([front, '-C', ini, '-F'])} %p`.replace(/'/g, "''")}'`);
    await c.query('SELECT pg_reload_conf()');
    let done = (await stats()).archived;
    const times: number[] = [];
    const segs: string[] = [];
    for (let i = 0; i < 3 + n; i++) {
      const seg = await fill();
      await idle(done);
      const t0 = now();
      await c.query('SELECT pg_switch_wal()');
      await idle(++done);
      if (i >= 3) {
        times.push(now() - t0);
        segs.push(seg);
      }
    }
    await c.end();
    ours.seconds = median(times)!;
    ours.checked = `${n} segments, median of ${times.map((t) => t.toFixed(3)).join(' ')}`;

    // The reference, over the same path: a warm OpenSSH master connection, then ssh cat per segment.
    const ssh = sshClientFor(target, tmp.path);
    const sock = join(tmp.path, 'ctl');
    const sshBase = ['/usr/bin/ssh', '-F', join(tmp.path, 'ssh_config'), '-p', String(target.port), '-S', sock];
    ctl = spawn(sshBase[0]!, [...sshBase.slice(1), '-M', '-N', ssh.login], { stdio: 'ignore' });
    const end = Date.now() + 30_000;
    while (!existsSync(sock)) {
      if (Date.now() > end) throw new Error('ssh ControlMaster did not come up in 30 s');
      await sleep(20);
    }
    const rtt = await pathRtt(target, direct);
    const cats: number[] = [];
    for (const seg of segs) {
      const bytes = readFileSync(join(dest, seg));
      const t0 = now();
      await must([...sshBase, ssh.login, `cat > ${join(dest, `${seg}.cat`)}`], { stdin: bytes });
      cats.push(now() - t0);
    }
    ref.seconds = median(cats)! + rtt;
    ref.note = `ssh cat ${median(cats)!.toFixed(3)} s + RTT ${(rtt * 1000).toFixed(1)} ms`;
    const rss = queuePeakRssKiB(join(tmp.path, 'queue', 'cmd_queue.log'));
    if (rss !== undefined) ours.rssKiB = rss;
  } catch (err) {
    ours.problem ??= err instanceof Error ? err.message : String(err);
  } finally {
    if (ctl?.pid && ctl.exitCode === null) process.kill(ctl.pid, 'SIGTERM');
    await cluster.stop('fast');
    await drainLeftovers(tmp.path, 30_000);
    await tmp.remove();
  }
  return [ours, ref];
}

/**
 * Scaling part, archiving rows: one cluster with 1 MiB segments (initdb --wal-segsize=1),
 * archive_mode on and an empty archive_command, filled with a few thousand ready segments by
 * pg_switch_wal(); one slave that refuses connections (a closed port), so everything queues.
 * (a) per-segment wall and CPU time of `cmd_archiver -F` (warm_path off: the work is in the
 * measured process) with the slave's queue prefilled to a depth (hard links of older ready
 * segments: same names and content as queued ones); (b) cmd_queue's peak RSS while its
 * look-ahead goes through N `.ready` files (the others are moved aside meanwhile).
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PgCluster } from '../test/rig/postgres.js';
import { freePort } from '../test/rig/ports.js';
import { startSshd, type SshdHandle } from '../test/rig/sshd.js';
import { makeTempDir } from '../test/rig/tmp.js';
import { LOOKAHEAD_HOLD } from '../packages/archiver/src/daemon/lookahead.js';
import { must } from './exec.js';
import { readySegments } from './files.js';
import { cmdArchiverBin, cmdQueueBin } from './ours.js';
import { queuePeakRssKiB } from './queue-log.js';
import { median } from './results.js';

/** Per-segment cost of cmd_archiver -F at one queue depth. */
export interface DepthPoint {
  depth: number;
  segments: number;
  wallMs?: number | undefined;
  cpuMs?: number | undefined;
  problems: string[];
}

/** cmd_queue's peak RSS with N .ready files. */
export interface ReadyPoint {
  ready: number;
  rssKiB?: number;
  problems: string[];
}

/** Segments timed per depth (the median is reported). */
const PER_DEPTH = 15;

async function makeReadyCluster(n: number, log: (s: string) => void): Promise<PgCluster> {
  const c = await startPostgres({
    name: 'scale-wal',
    initdbArgs: ['--wal-segsize=1'],
    conf: { archive_mode: 'on', archive_command: "''", max_wal_size: '16GB', checkpoint_timeout: '60min', autovacuum: 'off' },
  });
  const t0 = Date.now();
  while ((await readySegments(c.pgdata)).length < n) {
    // A WAL record, then a switch: one new 1 MiB segment each time.
    await c.query(`DO $$ BEGIN FOR i IN 1..250 LOOP PERFORM pg_logical_emit_message(false, 'bench', 'x'); PERFORM pg_switch_wal(); END LOOP; END $$`);
  }
  log(`  scaling: ${(await readySegments(c.pgdata)).length} ready 1 MiB segments in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return c;
}

function iniFor(dir: string, c: PgCluster, slave: string, s: SshdHandle, warm: boolean): string {
  return [
    '[DEFAULT]',
    `pgdata: ${c.pgdata}`,
    `l_archivedir: ${join(dir, 'queue')}`,
    `r_archivedir: ${join(dir, 'remote')}`,
    `slaves: ${slave}`,
    `user: ${s.user}`,
    `ssh_identity: ${s.clientKey}`,
    `ssh_known_hosts: ${s.knownHostsFile}`,
    `warm_path: ${warm ? 'on' : 'off'}`,
    'ssh_timeout: 5',
    '',
  ].join('\n');
}

/** One cmd_archiver -F under /usr/bin/time: wall and user+sys ms. */
async function timedArchive(ini: string, c: PgCluster, seg: string): Promise<{ wallMs: number; cpuMs: number }> {
  const r = await must(['/usr/bin/time', '-f', 'TIME %e %U %S', process.execPath, cmdArchiverBin, '-C', ini, '-F', `pg_wal/${seg}`], { cwd: c.pgdata });
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${r.stderr.slice(-200)}`);
  return { wallMs: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000 };
}

/** Runs both archiving measurements; `depths` and `readies` ascending. */
export async function runWalScaling(
  depths: readonly number[],
  readies: readonly number[],
  log: (s: string) => void,
): Promise<{ depth: DepthPoint[]; ready: ReadyPoint[] }> {
  const need = Math.max(Math.max(...depths) + PER_DEPTH, ...readies);
  const sshd = await startSshd({ logLevel: 'ERROR' });
  const port = await freePort(); // nothing listens: connections are refused
  const slave = `127.0.0.1:${port}`;
  const c = await makeReadyCluster(need, log);
  // The queue's directory for that slave (l_archivedir/<name with ':' as '_'>).
  const qname = `127.0.0.1_${port}`;
  const tmp = makeTempDir('pitr-bench-scale-');
  const depth: DepthPoint[] = [];
  const ready: ReadyPoint[] = [];
  try {
    const segs = await readySegments(c.pgdata);
    for (const d of depths) {
      const dir = join(tmp.path, `depth-${d}`);
      await fsp.mkdir(dir);
      const ini = join(dir, 'cmd_archiver.ini');
      await fsp.writeFile(ini, iniFor(dir, c, slave, sshd, false));
      await must([process.execPath, cmdArchiverBin, '-C', ini, '-I'], { cwd: dir });
      const q = join(dir, 'queue', qname);
      await fsp.mkdir(q, { recursive: true, mode: 0o700 });
      for (const s of segs.slice(0, d)) await fsp.link(join(c.pgdata, 'pg_wal', s), join(q, s));
      const p: DepthPoint = { depth: d, segments: PER_DEPTH, problems: [] };
      try {
        // One untimed run first: a store that keeps an index may build it once from the directory.
        await timedArchive(ini, c, segs[d]!);
        const runs = [];
        for (const s of segs.slice(d + 1, d + 1 + PER_DEPTH)) runs.push(await timedArchive(ini, c, s));
        p.wallMs = median(runs.map((r) => r.wallMs));
        p.cpuMs = median(runs.map((r) => r.cpuMs));
        const queued = (await fsp.readdir(q)).filter((n) => /^[0-9A-F]{24}$/.test(n)).length;
        if (queued !== d + 1 + PER_DEPTH) p.problems.push(`the queue holds ${queued} segments, expected ${d + 1 + PER_DEPTH}`);
      } catch (err) {
        p.problems.push(err instanceof Error ? err.message : String(err));
      }
      depth.push(p);
      log(
        `  cmd_archiver -F at queue depth ${d}: median ${p.wallMs?.toFixed(0) ?? '?'} ms wall, ${p.cpuMs?.toFixed(0) ?? '?'} ms CPU per segment${p.problems.length ? `  PROBLEM: ${p.problems.join('; ')}` : ''}`,
      );
      // The cmd_queue the runs started keeps writing the queue's summary: stop it before the rm.
      await stopQueueRunner(join(dir, 'queue'));
      await fsp.rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    }
    const status = join(c.pgdata, 'pg_wal', 'archive_status');
    const aside = join(tmp.path, 'aside');
    await fsp.mkdir(aside);
    for (const n of readies) ready.push(await queueRss(n, segs, status, aside, tmp.path, c, slave, qname, sshd, log));
  } finally {
    await c.destroy();
    await sshd.dispose();
    await tmp.remove();
  }
  return { depth, ready };
}

/**
 * cmd_queue in the foreground with exactly `n` .ready files, until its look-ahead queued what it
 * ships ahead of PostgreSQL's (idle) archiver: the oldest LOOKAHEAD_HOLD of them; then a few
 * more seconds, so that its reads of archive_status (one a second, of all n) count too.
 */
async function queueRss(
  n: number,
  segs: string[],
  status: string,
  aside: string,
  root: string,
  c: PgCluster,
  slave: string,
  qname: string,
  s: SshdHandle,
  log: (s: string) => void,
): Promise<ReadyPoint> {
  const p: ReadyPoint = { ready: n, problems: [] };
  // Exactly the n oldest stay .ready; the others wait aside (PostgreSQL's archiver is idle).
  for (const [i, seg] of segs.entries()) {
    const [from, to] = i < n ? [join(aside, `${seg}.ready`), join(status, `${seg}.ready`)] : [join(status, `${seg}.ready`), join(aside, `${seg}.ready`)];
    await fsp.rename(from, to).catch(() => undefined);
  }
  const dir = join(root, `ready-${n}`);
  await fsp.mkdir(dir);
  const ini = join(dir, 'cmd_archiver.ini');
  await fsp.writeFile(ini, iniFor(dir, c, slave, s, true));
  await must([process.execPath, cmdArchiverBin, '-C', ini, '-I'], { cwd: dir });
  const logFile = join(dir, 'cmd_queue.log');
  // As cmd_archiver starts it (spawn.ts).
  const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=2', cmdQueueBin, '-C', ini, '--log-file', logFile], {
    stdio: 'ignore',
    cwd: dir,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const q = join(dir, 'queue', qname);
  const deadline = Date.now() + 10 * 60_000;
  const ahead = Math.min(n, LOOKAHEAD_HOLD);
  try {
    for (;;) {
      const queued = (await fsp.readdir(q).catch(() => [])).filter((x) => /^[0-9A-F]{24}$/.test(x)).length;
      if (queued >= ahead) break;
      if (child.exitCode !== null) throw new Error(`cmd_queue exited (${child.exitCode}) with ${queued} of ${ahead} queued`);
      if (Date.now() > deadline) throw new Error(`only ${queued} of ${ahead} segments queued after 10 min`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 5000));
    const queued = (await fsp.readdir(q).catch(() => [])).filter((x) => /^[0-9A-F]{24}$/.test(x)).length;
    if (queued !== ahead) p.problems.push(`${queued} segments queued, expected the oldest ${ahead} of ${n} .ready`);
  } catch (err) {
    p.problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  const rss = queuePeakRssKiB(logFile);
  if (rss === undefined) p.problems.push('cmd_queue logged no peak RSS');
  else p.rssKiB = rss;
  log(
    `  cmd_queue with ${n} .ready files: peak RSS ${rss ? `${(rss / 1024).toFixed(1)} MB` : '?'}${p.problems.length ? `  PROBLEM: ${p.problems.join('; ')}` : ''}`,
  );
  await fsp.rm(dir, { recursive: true, force: true });
  return p;
}

/** Stops the cmd_queue of l_archivedir `q` (SIGTERM, then waits up to 10 s). */
async function stopQueueRunner(q: string): Promise<void> {
  const pid = Number((await fsp.readFile(join(q, '.cmd_queue.pid'), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

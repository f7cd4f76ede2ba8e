/**
 * One timed archive burst: a fresh copy of the WAL template is started with archive_command
 * empty, the method's command is set (ALTER SYSTEM), the clock starts, pg_reload_conf() lets
 * PostgreSQL's archiver loose on the ready segments, and pg_stat_archiver is polled until it
 * has archived all of them. Then the cluster is stopped, whatever the method left running is
 * waited for, and what arrived is checked byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PgCluster } from '../test/rig/postgres.js';
import { makeTempDir } from '../test/rig/tmp.js';
import { must, now, syncDisks } from './exec.js';
import { readySegments } from './files.js';
import { drainLeftovers } from './leftovers.js';
import type { WalMethod } from './wal-method.js';
import type { WalTemplate } from './wal-template.js';

export interface BurstResult {
  ok: boolean;
  seconds?: number;
  segments: number;
  /** Why the run does not count (archive failures, lost or damaged segments, set-up errors). */
  problems: string[];
  /** Processes still running after the cluster stopped that had to be killed. */
  killed: string[];
  /** What the check of the destination found when it passed. */
  checked?: string;
  /** Peak RSS (kB) of the detached helper, as the method reports it. */
  helperRssKiB?: number;
}

const POLL_MS = 15;
const DEADLINE_MS = 300_000;

interface ArchiverStats {
  archived: number;
  failed: number;
  lastFailed: string | null;
}

async function archiverStats(c: import('pg').Client): Promise<ArchiverStats> {
  const r = await c.query<{ archived_count: string; failed_count: string; last_failed_wal: string | null }>(
    'SELECT archived_count, failed_count, last_failed_wal FROM pg_stat_archiver',
  );
  const row = r.rows[0]!;
  return { archived: Number(row.archived_count), failed: Number(row.failed_count), lastFailed: row.last_failed_wal };
}

/** The server log's last lines about archiving (the run's directory is removed afterwards). */
function serverLogTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /archiv|DETAIL/i.test(l));
    return (
      lines
        .slice(-3)
        .map((l) => l.replace(/^\S+ \S+ \S+ \[\d+\] /, ''))
        .join(' | ') || 'nothing in the server log'
    );
  } catch {
    return 'no server log';
  }
}

/** Sets archive_command, starts the clock and waits until `ready` more segments are archived. */
async function timeBurst(cluster: PgCluster, archiveCommand: string, ready: number): Promise<{ seconds?: number; problem?: string }> {
  const c = await cluster.client();
  try {
    const base = await archiverStats(c);
    await c.query(`ALTER SYSTEM SET archive_command = '${archiveCommand.replace(/'/g, "''")}'`);
    const t0 = now();
    await c.query('SELECT pg_reload_conf()');
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const s = await archiverStats(c);
      if (s.failed > base.failed)
        return { problem: `archive_command failed ${s.failed - base.failed} time(s) (last on ${s.lastFailed}): ${serverLogTail(cluster.logFile)}` };
      if (s.archived - base.archived >= ready) return { seconds: now() - t0 };
      if (Date.now() > deadline) return { problem: `only ${s.archived - base.archived}/${ready} archived after ${DEADLINE_MS / 1000} s` };
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    await c.end();
  }
}

/** Runs `method` once on a fresh copy of the template; `rssFile` switches to the RSS-measuring variant. */
export async function runBurst(tpl: WalTemplate, method: WalMethod, rssFile?: string): Promise<BurstResult> {
  const tmp = makeTempDir(`pitr-bench-${method.id}-`);
  const dir = tmp.path;
  const pgdata = join(dir, 'data');
  const result: BurstResult = { ok: false, segments: 0, problems: [], killed: [] };
  let cluster: PgCluster | undefined;
  try {
    await must(['cp', '-a', tpl.cluster.pgdata, pgdata]);
    // autovacuum off: its I/O would land in some methods' timed window and not in others'.
    cluster = await startPostgres({ name: method.id, pgdata, parent: dir, conf: { autovacuum: 'off' } });
    const prepared = await method.prepare(rssFile ? { dir, cluster, rssFile } : { dir, cluster });
    const ready = await readySegments(pgdata);
    result.segments = ready.length;
    // The copy just written is still being flushed: let it land before the clock starts, or
    // every method that fsyncs would pay for it.
    await syncDisks();
    const timed = await timeBurst(cluster, prepared.archiveCommand, ready.length);
    await cluster.stop('fast');
    result.killed = (await drainLeftovers(dir)).map((p) => `${p.pid} ${p.cmd.slice(0, 120)}`);
    if (timed.problem) result.problems.push(timed.problem);
    result.problems.push(...(await prepared.verify(ready, tpl.sha256)));
    if (timed.seconds !== undefined) result.seconds = timed.seconds;
    const helper = prepared.helperRssKiB?.();
    if (helper !== undefined) result.helperRssKiB = helper;
    result.ok = result.problems.length === 0;
    if (result.ok) result.checked = `${ready.length} segments, sha256 equal`;
  } catch (err) {
    result.problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    if (cluster) await cluster.stop('immediate');
    await drainLeftovers(dir, 5_000);
    await tmp.remove(); // kept when PITR_TEST_KEEP=1
  }
  return result;
}

/**
 * The WAL every archiving method ships: a template cluster with archive_mode on and an empty
 * archive_command (segments pile up as .ready, nothing is archived), filled with real pgbench
 * WAL, checkpointed and stopped. Each method then starts from a copy of it.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PgCluster } from '../test/rig/postgres.js';
import { must } from './exec.js';
import { readySegments, sha256File } from './files.js';

export interface WalTemplate {
  cluster: PgCluster;
  /** The segments ready to archive, oldest first. */
  segments: string[];
  /** sha256 of each ready segment as the template holds it. */
  sha256: Map<string, string>;
  /** Bytes of WAL in the burst. */
  bytes: number;
}

/** pgbench against a cluster of the rig. */
export function pgbench(c: PgCluster, args: string[], env: Record<string, string> = {}): Promise<unknown> {
  return must([join(c.bindir, 'pgbench'), '-h', c.socketDir, '-p', String(c.port), ...args, 'postgres'], { env: { ...process.env, PGUSER: c.user, ...env } });
}

/** Builds the template with at least `n` ready segments of pgbench WAL; leaves it stopped. */
export async function makeWalTemplate(n: number, log: (s: string) => void): Promise<WalTemplate> {
  const cluster = await startPostgres({
    name: 'wal-template',
    // Empty archive_command with archive_mode on: PostgreSQL keeps every finished segment as .ready.
    conf: { archive_mode: 'on', archive_command: "''", max_wal_size: '4GB', checkpoint_timeout: '30min' },
  });
  // pgbench -i writes about 0.75 segment per scale unit (COPY, VACUUM, index builds) ...
  await pgbench(cluster, ['-i', '-q', '-s', String(Math.max(1, n - 6))]);
  // ... then the TPC-B-like load (commits not waited for, to make WAL fast) ...
  await pgbench(cluster, ['-n', '-c', '4', '-j', '2', '-T', '4'], { PGOPTIONS: '-c synchronous_commit=off' });
  // ... and inserts of about 5 MB of WAL each until the burst is big enough (overshoot < 1 segment).
  for (let i = 0; (await readySegments(cluster.pgdata)).length < n; i++) {
    if (i > 20 * n) throw new Error(`fewer than ${n} segments after ${i} inserts`);
    await cluster.query(
      "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler) SELECT g % 10 + 1, 1, g, g % 5000, now(), 'bench' FROM generate_series(1, 50000) g",
    );
  }
  await cluster.query('CHECKPOINT');
  await cluster.stop('fast');
  const segments = await readySegments(cluster.pgdata);
  const sha256 = new Map<string, string>();
  for (const s of segments) sha256.set(s, await sha256File(join(cluster.pgdata, 'pg_wal', s)));
  log(`WAL template: ${segments.length} ready segments (${segments[0]} .. ${segments.at(-1)})`);
  const bytes = segments.reduce((n, s) => n + statSync(join(cluster.pgdata, 'pg_wal', s)).size, 0);
  return { cluster, segments, sha256, bytes };
}

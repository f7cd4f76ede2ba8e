/**
 * The master of part (b): a pgbench cluster of the asked scale, checkpointed, with the pitrtools
 * helper functions installed (cmd_standby needs them), and a listing of what a complete base
 * backup of it must contain. Nothing writes to it afterwards, so the listing stays true.
 */
import { join } from 'node:path';
import { startPostgres, type PgCluster } from '../test/rig/postgres.js';
import { must } from './exec.js';
import { listFiles, totalBytes } from './files.js';
import { repoRoot } from './ours.js';
import { pgbench } from './wal-template.js';

export interface BaseMaster {
  cluster: PgCluster;
  scale: number;
  /** Relation files (base/ and global/) with their sizes: each must arrive with the same size. */
  relations: Map<string, number>;
  /** Files and bytes of the data directory without pg_wal. */
  files: number;
  bytes: number;
}

/** Relation data files: base/<db>/<filenode>[_fsm|_vm|_init][.<segno>] and global/<filenode>... */
export const RELATION_FILE = /^(base\/\d+|global)\/\d+(_(fsm|vm|init))?(\.\d+)?$/;

/** Data directory entries no base backup copies (WAL is streamed or archived separately). */
export const notCopied = (rel: string): boolean => rel === 'pg_wal' || rel.startsWith('pg_wal/') || rel === 'postmaster.pid' || rel === 'postmaster.opts';

/** Starts a master with pgbench -i -s `scale`, CHECKPOINTs it and installs sql/cmd_standby.sql. */
export async function makeBaseMaster(name: string, scale: number, conf: Record<string, string | number> = {}): Promise<BaseMaster> {
  // autovacuum off: pgbench -i has vacuumed and analyzed already, and an autoanalyze (even of
  // template1's pg_statistic) would change relation sizes between the listing and the copies.
  const cluster = await startPostgres({ name, conf: { max_wal_size: '8GB', checkpoint_timeout: '30min', autovacuum: 'off', ...conf } });
  await pgbench(cluster, ['-i', '-q', '-s', String(scale)]);
  await cluster.query('CHECKPOINT');
  await installHelperSql(cluster);
  return describeMaster(cluster, scale);
}

/** Installs sql/cmd_standby.sql (the helpers -B calls) into the cluster's postgres database with its own psql. */
export async function installHelperSql(cluster: PgCluster): Promise<void> {
  await must([
    join(cluster.bindir, 'psql'),
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    cluster.socketDir,
    '-p',
    String(cluster.port),
    '-U',
    cluster.user,
    '-d',
    'postgres',
    '-f',
    join(repoRoot, 'sql', 'cmd_standby.sql'),
  ]);
}

/** Lists the master's data directory as it is now. */
export async function describeMaster(cluster: PgCluster, scale: number): Promise<BaseMaster> {
  const all = await listFiles(cluster.pgdata, notCopied);
  const relations = new Map([...all].filter(([rel]) => RELATION_FILE.test(rel)));
  return { cluster, scale, relations, files: all.size, bytes: totalBytes(all) };
}

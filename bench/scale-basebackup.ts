/**
 * Scaling part, -B rows: one master grown from a fresh initdb (about 1 000 files) to about
 * 20 000 and 100 000 files by small tables (each CREATE TABLE with a primary key and a text
 * column makes 4 files: heap, index, TOAST heap, TOAST index), and cmd_standby -B into a fresh
 * directory at each size, wrapped in /usr/bin/time for its peak RSS (worker threads included:
 * they are in-process).
 */
import { startPostgres } from '../test/rig/postgres.js';
import { startSshd } from '../test/rig/sshd.js';
import { describeMaster, installHelperSql } from './base-master.js';
import { cmdStandbyMethod } from './base-methods.js';
import { runBase } from './base-run.js';

/** One -B measurement at one size. */
export interface BaseScalePoint {
  /** Files of the data directory without pg_wal. */
  files: number;
  bytes: number;
  seconds?: number;
  rssKiB?: number;
  problems: string[];
}

// Tables per transaction: each holds locks on what it created until commit (4 per table).
const BATCH = 500;

/** Creates tables until the data directory holds about `files` files; `made` counts tables so far. */
async function growTo(c: { query(sql: string): Promise<unknown> }, have: number, files: number, made: number): Promise<number> {
  const tables = Math.max(0, Math.ceil((files - have) / 4));
  for (let done = 0; done < tables; done += BATCH) {
    const n = Math.min(BATCH, tables - done);
    await c.query(`DO $$ BEGIN FOR i IN ${made + done + 1}..${made + done + n} LOOP
      EXECUTE format('CREATE TABLE scale_%s (id int PRIMARY KEY, t text)', i); END LOOP; END $$`);
  }
  return made + tables;
}

/** Runs -B against a master of each size in `sizes` (files, ascending). */
export async function runBaseScaling(sizes: readonly number[], log: (s: string) => void): Promise<BaseScalePoint[]> {
  const sshd = await startSshd({ logLevel: 'ERROR' });
  // max_locks_per_transaction: a batch of CREATE TABLEs holds ~4 locks per table until commit.
  const cluster = await startPostgres({
    name: 'scale-master',
    conf: { autovacuum: 'off', max_locks_per_transaction: 4 * BATCH, checkpoint_timeout: '30min', max_wal_size: '4GB' },
  });
  await installHelperSql(cluster);
  const method = cmdStandbyMethod(() => sshd);
  const out: BaseScalePoint[] = [];
  let made = 0;
  try {
    for (const target of sizes) {
      const t0 = Date.now();
      made = await growTo(cluster, (await describeMaster(cluster, 0)).files, target, made);
      await cluster.query('CHECKPOINT');
      const master = await describeMaster(cluster, 0);
      log(`  -B scaling: master with ${master.files} files (${made} tables made, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      const o = await runBase(master, method);
      out.push({
        files: master.files,
        bytes: master.bytes,
        problems: o.problems,
        ...(o.seconds !== undefined ? { seconds: o.seconds } : {}),
        ...(o.rssKiB !== undefined ? { rssKiB: o.rssKiB } : {}),
      });
      log(
        `  -B at ${master.files} files: ${o.seconds?.toFixed(2) ?? '?'} s, peak RSS ${o.rssKiB ? `${(o.rssKiB / 1024).toFixed(1)} MB` : '?'}${o.problems.length ? `  PROBLEM: ${o.problems.join('; ')}` : ''}`,
      );
    }
  } finally {
    await cluster.destroy();
    await sshd.dispose();
  }
  return out;
}

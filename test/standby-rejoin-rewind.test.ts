// pitr-test: once
/**
 * --rejoin with pg_rewind: M (wal_log_hints = on) takes a row its streaming standby S never gets,
 * dies (stop -m immediate; wal_keep_size keeps its WAL back to the last checkpoint before the fork,
 * which pg_rewind reads); S is promoted by -F999 and takes its own row. --rejoin on M finds that
 * M's WAL went past the fork, rewinds it with pg_rewind from S through the SSH tunnel (after
 * pg_rewind's own crash recovery of M), puts M's own postgresql.conf and pg_hba.conf back and
 * starts it as a standby of S: S's row arrives, M's lost row is gone, rejoin_done fires.
 * S runs with checkpoint_timeout = 1h, so the checkpoint after its promotion is spread over most of
 * an hour and S's pg_control still names timeline 1 when --rejoin runs: pg_rewind reads the
 * source's timeline from there and would say "no rewind required" unless --rejoin makes S
 * checkpoint first (the note in PostgreSQL's pg_rewind documentation).
 *
 * pg_rewind must be of the data directory's major and this machine has it only for PostgreSQL 15
 * (Debian's postgresql-15; the npm builds of 14-18 ship initdb, pg_ctl and postgres alone): this
 * file runs on 15 whatever PITR_PG_VERSIONS says. The fallback to the delta -B runs on every major
 * in standby-rejoin-basebackup.test.ts.
 */
process.env.PITR_PG_VERSION = '15';

import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { roleSwapInis } from './rig/role-swap.js';
import { ctxFor, initAndCopy, prepareMaster, runCmd, standbyEnv, standbyQuery, waitOnStandby } from './rig/standby-env.js';

after(cleanupAll);

test("--rejoin after a failover: M diverged, pg_rewind brings it onto S's timeline, S's rows reach it", async () => {
  const env = await standbyEnv({ archiver: 'cp', masterConf: { archive_mode: 'off', wal_log_hints: 'on', wal_keep_size: "'128MB'" } });
  const m = roleSwapInis(env);
  // big: enough pages that S's spread checkpoint after promotion has buffers to pace over the hour.
  await prepareMaster(env, 'CREATE TABLE t (i int)', 'INSERT INTO t VALUES (1)', 'CREATE TABLE big AS SELECT generate_series(1, 200000) AS i');
  await initAndCopy(env);
  appendFileSync(join(env.dir, 'conf', 'postgresql.conf'), "checkpoint_timeout = '1h'\n");
  await startStandby(ctxFor(env), { iniPath: env.ini });
  await waitOnStandby(env, 'row 1 on S', 'SELECT count(*)::int FROM t WHERE i = 1', 1);
  const mConf = readFileSync(join(env.master.pgdata, 'postgresql.conf'), 'utf8');

  await waitOnStandby(env, 'table big on S', 'SELECT count(*)::int FROM big', 200000);
  // S stops replicating but keeps running (promoted by pg_promote: the checkpoint after it is the
  // spread one), M takes row 2 (and dies with it), S becomes master and takes row 3.
  await standbyQuery(env, "ALTER SYSTEM SET primary_conninfo = ''");
  await standbyQuery(env, 'SELECT pg_reload_conf()');
  await waitOnStandby(env, "S's WAL receiver to stop", 'SELECT count(*)::int FROM pg_stat_wal_receiver', 0);
  await env.master.query('INSERT INTO t SELECT 2 FROM generate_series(1, 1000)');
  await env.master.stop('immediate');
  const f = await runCmd(['-C', env.ini, '-F999']);
  assert.equal(f.code, 0, f.stdout + f.stderr);
  await standbyQuery(env, 'ALTER SYSTEM RESET primary_conninfo');
  await standbyQuery(env, 'SELECT pg_reload_conf()');
  await standbyQuery(env, 'INSERT INTO t VALUES (3)');

  const r = await runCmd(['-C', m.ini, '--rejoin']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Rejoin finished: rewound with pg_rewind; started as a standby of 127\.0\.0\.1 \(PostgreSQL port \d+\)$/m);
  assert.match(r.stderr, /a rewind is needed: it was not shut down cleanly/);
  assert.match(r.stderr, /CHECKPOINT on the new master \(.*\), so that its pg_control names its timeline for pg_rewind/);
  assert.doesNotMatch(r.stderr, /delta base backup/);
  // M's own configuration, not S's (pg_rewind copied S's files): its port and our include line.
  assert.equal(readFileSync(join(env.master.pgdata, 'postgresql.conf'), 'utf8').startsWith(mConf), true);
  assert.equal(await env.master.scalar('SELECT pg_is_in_recovery()'), true);
  await standbyQuery(env, 'INSERT INTO t VALUES (4)');
  await waitFor('row 4 on M', async () => Number(await env.master.scalar('SELECT count(*) FROM t WHERE i = 4')) === 1, 60_000, 200);
  assert.deepEqual(await env.master.query('SELECT i, count(*)::int AS n FROM t GROUP BY i ORDER BY i'), [
    { i: 1, n: 1 },
    { i: 3, n: 1 },
    { i: 4, n: 1 },
  ]);
  assert.equal(await env.master.scalar('SELECT status FROM pg_stat_wal_receiver'), 'streaming');
  assert.ok(m.events().includes('rejoin_done'), m.events().join(','));
});

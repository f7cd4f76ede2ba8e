// pitr-test: ends
/**
 * --rejoin when pg_rewind cannot be used (wal_log_hints off and no data checksums; on majors
 * without a pg_rewind here, because there is none): after a split (S promoted with -F999 --force
 * while M still runs and takes a write), --rejoin refuses the running M, and even with --force a
 * master that is another cluster (nothing stopped); --rejoin --force says that
 * M accepts writes and that those after the fork are lost, stops it, re-syncs it with the delta -B
 * saying why, and starts it as a standby of S: S's rows arrive, M's write after the fork is gone.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { cleanupAll } from './rig/cleanup.js';
import { testPgMajor } from './rig/pg-versions.js';
import { startPostgres, waitFor } from './rig/postgres.js';
import { roleSwapInis } from './rig/role-swap.js';
import { ctxFor, initAndCopy, prepareMaster, runCmd, standbyEnv, standbyQuery, waitOnStandby } from './rig/standby-env.js';

after(cleanupAll);

test('--rejoin --force after a split: falls back to the delta -B, says why, M follows S and loses its write after the fork', async () => {
  // initdb of 18 turns data checksums on by default; this test is about a cluster without them.
  const env = await standbyEnv({ archiver: 'cp', masterConf: { archive_mode: 'off' }, initdbArgs: testPgMajor() >= 18 ? ['--no-data-checksums'] : [] });
  const m = roleSwapInis(env);
  await prepareMaster(env, 'CREATE TABLE t (i int)', 'INSERT INTO t VALUES (1)');
  await initAndCopy(env);
  await startStandby(ctxFor(env), { iniPath: env.ini });
  await waitOnStandby(env, 'row 1 on S', 'SELECT count(*)::int FROM t WHERE i = 1', 1);

  const f = await runCmd(['-C', env.ini, '-F999', '--force']);
  assert.equal(f.code, 0, f.stdout + f.stderr);
  await env.master.query('INSERT INTO t VALUES (2)');
  await standbyQuery(env, 'INSERT INTO t VALUES (3)');

  const refused = await runCmd(['-C', m.ini, '--rejoin']);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /refusing to rejoin: the local PostgreSQL runs/);
  assert.equal(await env.master.scalar('SELECT count(*)::int FROM t'), 2, 'M runs on untouched');
  // Even with --force, never against another cluster (-B would replace M with a copy of it); M is not stopped.
  const other = await startPostgres({ name: 'other' });
  const { connectPg } = await import('../packages/core/src/pg/client.js');
  const { installHelpers } = await import('../packages/core/src/pg/helpers.js');
  const c = await connectPg({ host: other.socketDir, port: other.port, user: other.user, database: 'postgres' });
  try {
    await installHelpers(c);
  } finally {
    await c.end();
  }
  const otherIni = join(env.dir, 'other.ini');
  writeFileSync(otherIni, readFileSync(m.ini, 'utf8').replace(/^port: \d+$/m, `port: ${other.port}`), { mode: 0o600 });
  const o = await runCmd(['-C', otherIni, '--rejoin', '--force']);
  assert.equal(o.code, 1, o.stdout + o.stderr);
  assert.match(
    o.stderr,
    /refusing to rejoin: the master named in .*other\.ini \(.*\) is another cluster \(system identifier \d+, this one \d+\); a rejoin would replace this data directory with a copy of it/,
  );
  assert.equal(await env.master.scalar('SELECT count(*)::int FROM t'), 2, 'M runs on untouched');
  await other.destroy();

  const r = await runCmd(['-C', m.ini, '--rejoin', '--force']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /--force: stopping the local PostgreSQL \(pid \d+\), which runs as a master and accepts writes from clients: every write it took after the new master's timeline forked will be lost/,
  );
  const why =
    testPgMajor() === 15
      ? /the old master ran with wal_log_hints = off and without data checksums \(pg_control of .*\), which pg_rewind needs; for next time set wal_log_hints = on in its postgresql\.conf \(takes a restart\), or enable checksums on the stopped cluster: pg_checksums --enable -D /
      : /(the old master ran with wal_log_hints = off and without data checksums|no pg_rewind of PostgreSQL \d+ was found)/;
  assert.match(
    r.stdout,
    new RegExp(
      `^Rejoin finished: re-synced with the delta base backup \\(-B\\): ${why.source}.*; started as a standby of 127\\.0\\.0\\.1 \\(PostgreSQL port \\d+\\)$`,
      'm',
    ),
  );
  assert.match(r.stdout, /^Base backup finished: /m);
  assert.doesNotMatch(r.stdout, /rewound with pg_rewind/);

  assert.equal(await env.master.scalar('SELECT pg_is_in_recovery()'), true);
  await standbyQuery(env, 'INSERT INTO t VALUES (4)');
  await waitFor('row 4 on M', async () => Number(await env.master.scalar('SELECT count(*) FROM t WHERE i = 4')) === 1, 60_000, 200);
  assert.deepEqual(await env.master.query('SELECT i FROM t ORDER BY i'), [{ i: 1 }, { i: 3 }, { i: 4 }]);
  assert.ok(m.events().includes('rejoin_done'), m.events().join(','));
});

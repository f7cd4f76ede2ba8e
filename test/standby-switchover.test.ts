/**
 * --switchover from the master M to the streaming standby S and back, with the real binary: rows
 * committed before each swap are on the new master, the old master rejoins by its own --rejoin over
 * SSH without a rewind (a clean stop), streams from the new master, and the hooks switchover_done and
 * rejoin_done fire. Refusals: --switchover when not caught up or when the shutdown checkpoint was not
 * replayed (the master is started again), without master_standby_config; --rejoin while the local
 * server runs (no --force; standby-rejoin-basebackup.test.ts has the other refusals). Both inis
 * use replication slots: each swap moves them (the new master holds the old one's slot, the old
 * master's own slots are dropped by its rejoin), and none is left behind.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PitrError } from '../packages/core/src/errors.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { switchover } from '../packages/standby/src/commands/switchover.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { roleSwapInis, type OldMasterSide } from './rig/role-swap.js';
import { ctxFor, initAndCopy, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, waitOnStandby } from './rig/standby-env.js';

let env: StandbyEnv;
let m: OldMasterSide;
before(async () => {
  env = await standbyEnv({ archiver: 'cp', masterConf: { archive_mode: 'off' } });
  m = roleSwapInis(env, {}, { slots: true });
  await prepareMaster(env, 'CREATE TABLE t (i int)');
  await initAndCopy(env);
  await startStandby(ctxFor(env), { iniPath: env.ini });
  await waitOnStandby(env, 'S to stream from M', 'SELECT status FROM pg_stat_wal_receiver', 'streaming');
});
after(cleanupAll);

type SlotRow = { slot_name: string; active: boolean };
const slotsOn = async (on: 'M' | 'S'): Promise<SlotRow[]> => {
  const sql = 'SELECT slot_name, active FROM pg_replication_slots ORDER BY slot_name';
  return on === 'M' ? env.master.query<SlotRow>(sql) : standbyQuery<SlotRow>(env, sql);
};
const mRecovery = async (): Promise<boolean> => Boolean(await env.master.scalar('SELECT pg_is_in_recovery()'));
const sRecovery = async (): Promise<boolean> => Boolean((await standbyQuery<{ r: boolean }>(env, 'SELECT pg_is_in_recovery() AS r'))[0]!.r);

test('--rejoin refuses while the local server runs (it may take writes), and says how to go on', async () => {
  const r = await runCmd(['-C', m.ini, '--rejoin']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /refusing to rejoin: the local PostgreSQL runs \(pid \d+, .*\); as the old master it accepts writes from clients, and every write after the new master's timeline forked would be lost by the rejoin/,
  );
  assert.match(r.stderr, /--rejoin --force/);
  assert.equal(await mRecovery(), false, 'M still runs as the master');
});

test('--switchover refuses with the figures when the standby is not caught up, or did not replay the shutdown checkpoint, or cannot be promoted (the master is started again)', async () => {
  const ctx = ctxFor(env);
  await standbyQuery(env, 'SELECT pg_wal_replay_pause()');
  try {
    await env.master.query('INSERT INTO t VALUES (0)');
    await assert.rejects(switchover(ctx, { iniPath: env.ini, catchUpMs: 2000 }), (err: PitrError) => {
      assert.equal(err.code, 'SWITCHOVER_REFUSED');
      assert.match(
        err.message,
        /^refusing to switch over: this standby is not caught up: it replayed up to [0-9A-F]+\/[0-9A-F]+, the master is at [0-9A-F]+\/[0-9A-F]+ after a WAL switch/,
      );
      return true;
    });
    assert.equal(await mRecovery(), false, 'the master was not touched');
  } finally {
    await standbyQuery(env, 'SELECT pg_wal_replay_resume()');
  }
  // Caught up, but replay stops before the master's shutdown checkpoint arrives.
  await assert.rejects(
    switchover(ctx, {
      iniPath: env.ini,
      catchUpMs: 3000,
      beforeStop: async () => {
        await standbyQuery(env, 'SELECT pg_wal_replay_pause()');
      },
    }),
    (err: PitrError) => {
      assert.equal(err.code, 'SWITCHOVER_REFUSED');
      assert.match(
        err.message,
        /this standby replayed up to [0-9A-F]+\/[0-9A-F]+, not past the master's shutdown checkpoint at [0-9A-F]+\/[0-9A-F]+: the master was started again, nothing was promoted/,
      );
      return true;
    },
  );
  assert.ok(
    ctx.log.lines.some((l) => /started the master again/.test(l)),
    ctx.log.lines.join('\n'),
  );
  await standbyQuery(env, 'SELECT pg_wal_replay_resume()');
  assert.equal(await mRecovery(), false, 'M is the master again');
  assert.equal(await sRecovery(), true, 'S was not promoted');
  // The promotion itself fails (pg_conf_failover cannot be put in place): the master is started again.
  await waitOnStandby(env, 'S to stream from M again', 'SELECT status FROM pg_stat_wal_receiver', 'streaming');
  const broken = ctxFor(env);
  broken.config.pg_conf_failover = '/nonexistent/postgresql.conf';
  await assert.rejects(switchover(broken, { iniPath: env.ini }), (err: PitrError) => err.code === 'CONF_COPY_FAILED');
  assert.ok(
    broken.log.lines.some((l) => /started the master again/.test(l)),
    broken.log.lines.join('\n'),
  );
  assert.equal(await mRecovery(), false, 'M is the master again');
  assert.equal(await sRecovery(), true, 'S was not promoted');
  await env.master.query('DELETE FROM t');
  await waitOnStandby(env, 'S to stream from M again', 'SELECT status FROM pg_stat_wal_receiver', 'streaming');
  await waitOnStandby(env, 'S to replay the DELETE', 'SELECT count(*)::int FROM t', 0);
});

test('--switchover M -> S: the row committed just before is on S, M rejoins without a rewind and streams from S', async () => {
  await env.master.query('INSERT INTO t VALUES (1)');
  const r = await runCmd(['-C', env.ini, '--switchover']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /^Switchover finished: read-write on timeline 2 after replaying past the old master's shutdown checkpoint [0-9A-F]+\/[0-9A-F]+; the old master 127\.0\.0\.1 rejoined as a standby\.$/m,
  );
  assert.match(r.stderr, /old master: Rejoin finished: no rewind needed: it stopped cleanly before the fork at [0-9A-F]+\/[0-9A-F]+; started as a standby/);
  assert.doesNotMatch(r.stderr, /pg_rewind|delta base backup/);
  assert.equal(await sRecovery(), false);
  assert.deepEqual(await standbyQuery(env, 'SELECT i FROM t ORDER BY i'), [{ i: 1 }]);
  assert.equal(await mRecovery(), true);
  await standbyQuery(env, 'INSERT INTO t VALUES (2)');
  await waitFor('row 2 on M', async () => Number(await env.master.scalar('SELECT count(*) FROM t WHERE i = 2')) === 1, 60_000, 200);
  assert.equal(await env.master.scalar('SELECT status FROM pg_stat_wal_receiver'), 'streaming');
  assert.deepEqual(
    m.events().filter((e) => e !== 'wal_receiver_ok'),
    ['rejoin_done', 'switchover_done'],
  );
  // The slots moved with the roles: M streams through its slot on S; S's old slot on M is gone.
  await waitFor(
    'M streaming through pitrtools_m on S',
    async () => JSON.stringify(await slotsOn('S')) === JSON.stringify([{ slot_name: 'pitrtools_m', active: true }]),
    30_000,
    200,
  );
  assert.deepEqual(await slotsOn('M'), [], 'the old master kept no slot');
});

test('--switchover back S -> M: rows of both lives are on M, S rejoins and streams from M', async () => {
  await standbyQuery(env, 'INSERT INTO t VALUES (3)');
  const r = await runCmd(['-C', m.ini, '--switchover']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Switchover finished: read-write on timeline 3 /m);
  assert.match(r.stderr, /old master: Rejoin finished: no rewind needed/);
  assert.equal(await mRecovery(), false);
  assert.deepEqual(await env.master.query('SELECT i FROM t ORDER BY i'), [{ i: 1 }, { i: 2 }, { i: 3 }]);
  assert.equal(await sRecovery(), true);
  await env.master.query('INSERT INTO t VALUES (4)');
  await waitOnStandby(env, 'row 4 on S', 'SELECT count(*)::int FROM t WHERE i = 4', 1);
  assert.deepEqual(
    m.events().filter((e) => e !== 'wal_receiver_ok'),
    ['rejoin_done', 'switchover_done', 'rejoin_done', 'switchover_done'],
  );
  await waitFor(
    'S streaming through pitrtools_s on M',
    async () => JSON.stringify(await slotsOn('M')) === JSON.stringify([{ slot_name: 'pitrtools_s', active: true }]),
    30_000,
    200,
  );
  assert.deepEqual(await slotsOn('S'), [], 'no slot left behind on S');
});

test('--switchover without master_standby_config is a configuration error (exit 2) that names the key', async () => {
  const { writeIni } = await import('./rig/standby-env.js');
  const { readFileSync } = await import('node:fs');
  const before = readFileSync(env.ini, 'utf8');
  writeIni(
    env,
    Object.fromEntries(
      before
        .split('\n')
        .slice(1)
        .filter((l) => l.includes(': ') && !l.startsWith('master_standby_config'))
        .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
    ),
  );
  const r = await runCmd(['-C', env.ini, '--switchover']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--switchover needs master_standby_config in .*: the path, on the master host, of the cmd_standby ini/);
  assert.equal(await sRecovery(), true, 'nothing was done');
});

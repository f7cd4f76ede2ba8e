// pitr-test: ends
/**
 * --switchover on three "hosts" (issue 11): M, S1, S2 all streaming, every ini with
 * use_replication_slots and its own slot_name. --switchover on S1 makes M a standby of S1 without
 * a rewind; --follow re-points S2 at S1; a row written on S1 reaches M and S2; S1 then holds exactly
 * the active slots of M and S2 and neither M nor S2 keeps one. And back: --switchover on M, S2
 * follows M, M holds the slots of S1 and S2, none left elsewhere. The two-host swap and its
 * refusals are in standby-switchover.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanupAll } from './rig/cleanup.js';
import { clusterEnv, type ClusterEnv, type ClusterNode } from './rig/cluster-env.js';
import { waitFor } from './rig/postgres.js';
import { runCmd } from './rig/standby-env.js';

let env: ClusterEnv;
let s1: ClusterNode;
let s2: ClusterNode;
before(async () => {
  env = await clusterEnv({ standbys: [{ name: 's1' }, { name: 's2' }], switchover: true, slots: true });
  s1 = env.node('s1');
  s2 = env.node('s2');
  for (const n of [s1, s2]) await env.waitFor(n, 'streaming from M', 'SELECT status FROM pg_stat_wal_receiver', 'streaming');
});
after(cleanupAll);

type SlotRow = { slot_name: string; active: boolean };
const slots = (on: 'M' | ClusterNode): Promise<SlotRow[]> => env.query<SlotRow>(on, 'SELECT slot_name, active FROM pg_replication_slots ORDER BY slot_name');
const inRecovery = async (on: 'M' | ClusterNode): Promise<boolean> => Boolean((await env.query<{ r: boolean }>(on, 'SELECT pg_is_in_recovery() AS r'))[0]!.r);
const rows = async (on: 'M' | ClusterNode): Promise<number[]> => (await env.query<{ i: number }>(on, 'SELECT i FROM t ORDER BY i')).map((r) => r.i);
/** Waits until `on` holds exactly these slots, all active (each standby streams through its own). */
const waitSlots = (on: 'M' | ClusterNode, names: string[]): Promise<unknown> => {
  const want = JSON.stringify(names.map((slot_name) => ({ slot_name, active: true })));
  return waitFor(
    `exactly the active slots ${names.join(', ')} on ${on === 'M' ? 'M' : on.name}`,
    async () => JSON.stringify(await slots(on)) === want || undefined,
    60_000,
    200,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}; it holds ${JSON.stringify(await slots(on))}`);
  });
};

test('at the start M holds the active slots of S1 and S2', async () => {
  await waitSlots('M', ['pitrtools_s1', 'pitrtools_s2']);
});

test('--switchover M -> S1: M becomes a standby of S1 without a rewind, S2 follows S1, a row written on S1 reaches both; S1 holds exactly the slots of M and S2', async () => {
  await env.writeAndWait('M', [s1, s2], 1);
  const r = await runCmd(['-C', s1.ini, '--switchover']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Switchover finished: read-write on timeline 2 /m);
  assert.match(r.stderr, /old master: Rejoin finished: no rewind needed/);
  assert.doesNotMatch(r.stderr, /pg_rewind|delta base backup/);
  assert.equal(await inRecovery(s1), false);
  assert.equal(await inRecovery('M'), true);
  const f = await runCmd(['-C', s2.ini, '--follow', '--master', `${s1.host}:${env.sshd.port}`, '--master-port', String(s1.port)]);
  assert.equal(f.code, 0, f.stdout + f.stderr);
  assert.match(f.stdout, /on timeline 2, streaming\.$/m);
  await env.writeAndWait(s1, [s2], 2);
  await waitFor('row 2 on M', async () => (await rows('M')).includes(2) || undefined, 60_000, 200);
  assert.deepEqual(await rows('M'), [1, 2]);
  assert.deepEqual(await rows(s2), [1, 2]);
  await waitSlots(s1, ['pitrtools_m', 'pitrtools_s2']);
  assert.deepEqual(await slots('M'), [], 'the old master kept no slot');
  assert.deepEqual(await slots(s2), [], 'S2 holds no slot');
});

test('--switchover back S1 -> M: S1 becomes a standby of M, S2 follows M; M holds exactly the slots of S1 and S2, none left on S1 or S2', async () => {
  const r = await runCmd(['-C', env.masterIni!, '--switchover']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Switchover finished: read-write on timeline 3 /m);
  assert.match(r.stderr, /old master: Rejoin finished: no rewind needed/);
  assert.equal(await inRecovery('M'), false);
  assert.equal(await inRecovery(s1), true);
  const f = await runCmd(['-C', s2.ini, '--follow', '--master', `127.0.0.1:${env.sshd.port}`, '--master-port', String(env.master.port)]);
  assert.equal(f.code, 0, f.stdout + f.stderr);
  assert.match(f.stdout, /on timeline 3, streaming\.$/m);
  await env.writeAndWait('M', [s1, s2], 3);
  for (const n of ['M', s1, s2] as const) assert.deepEqual(await rows(n), [1, 2, 3]);
  await waitSlots('M', ['pitrtools_s1', 'pitrtools_s2']);
  assert.deepEqual(await slots(s1), [], 'the old master S1 kept no slot');
  assert.deepEqual(await slots(s2), [], 'S2 holds no slot');
  const events = env
    .alerts()
    .map((a) => a.env.PITR_EVENT)
    .filter((e) => /_done$/.test(String(e)));
  assert.deepEqual(events.filter((e) => e === 'switchover_done').length, 2, events.join(', '));
  assert.deepEqual(events.filter((e) => e === 'follow_done').length, 2, events.join(', '));
});

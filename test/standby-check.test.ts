// pitr-test: long
/**
 * --check cannot be fooled (issue: it said OK, 0 bytes of lag, while the standby was cut off):
 * every lag is measured against the master's position, and the WAL receiver, an unreachable
 * master and a segment the master removed each have their own state. A streaming standby on a
 * real master and sshd; the cut is made on the master (pg_hba.conf rejects the standby's
 * replication connections and its walsender is terminated) while the master keeps writing.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { initAndCopy, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, waitOnStandby, writeIni } from './rig/standby-env.js';

let env: StandbyEnv;
const hba = (): string => join(env.master.pgdata, 'pg_hba.conf');
let hbaOriginal: string;

interface CheckJson {
  status: string;
  code: number;
  text: string;
  lagSource?: string;
  lagBytes?: number;
  masterLsn?: string;
  receiver?: { status: string };
  replicationError?: string;
  removedSegment?: string;
}
async function check(): Promise<CheckJson & { line: string }> {
  const j = await runCmd(['-C', env.ini, '--check', '--json']);
  // The one Nagios JSON shape (core/nagios.ts): state and summary.
  const o = JSON.parse(j.stdout) as Omit<CheckJson, 'status' | 'text'> & { state: string; summary: string };
  assert.equal(j.code, o.code);
  return { ...o, status: o.state, text: o.summary, line: j.stdout };
}

/** Runs --check every `everyMs` until `wanted` holds for its answer (at most `ms`); returns that answer. */
function checkUntil(what: string, wanted: (c: CheckJson & { line: string }) => boolean, ms: number, everyMs: number): Promise<CheckJson & { line: string }> {
  return waitFor(
    what,
    async () => {
      const c = await check();
      return wanted(c) ? c : undefined;
    },
    ms,
    everyMs,
  );
}

before(async () => {
  env = await standbyEnv({ archiver: 'cp', masterConf: { wal_keep_size: 0 } });
  writeIni(env, {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'),
    pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    use_streaming_replication: 'on',
    repl_db_user: env.master.user,
    sslmode: 'disable',
    check_receiver_critical_seconds: '4',
    check_master_critical_seconds: '4',
  });
  await prepareMaster(env, 'CREATE TABLE t (i int)');
  await startStandby(await initAndCopy(env), { iniPath: env.ini });
  await waitOnStandby(env, 'the WAL receiver to stream', 'SELECT status FROM pg_stat_wal_receiver', 'streaming');
  hbaOriginal = readFileSync(hba(), 'utf8');
});
after(cleanupAll);

describe('--check against the master', () => {
  test('streaming and caught up: OK, the lag measured against the master', async () => {
    await env.master.query('INSERT INTO t VALUES (1)');
    await waitOnStandby(env, 'the row', 'SELECT count(*)::int FROM t', 1);
    const o = await checkUntil('an OK check', (c) => c.status === 'OK', 30_000, 500);
    assert.equal(o.lagSource, 'master');
    assert.match(o.masterLsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.equal(o.receiver?.status, 'streaming');
    const st = await runCmd(['-C', env.ini, '--status']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^OK: in recovery/);
    assert.match(
      st.stdout,
      new RegExp(`^master: {2}PostgreSQL 127\\.0\\.0\\.1:${env.master.port} via ssh \\S+@127\\.0\\.0\\.1:${env.sshd.port}: WAL at [0-9A-F]+/[0-9A-F]+$`, 'm'),
    );
    assert.match(st.stdout, /^standby: in recovery; replayed up to [0-9A-F]+\/[0-9A-F]+ \(lag \d+ B.*\); received up to .*; WAL receiver streaming$/m);
  });

  test('the master unreachable is not OK: WARNING at once, CRITICAL past check_master_critical_seconds', async () => {
    await env.sshd.stop();
    try {
      const w = await check();
      assert.equal(w.status, 'WARNING', w.line);
      assert.match(w.text, /master unreachable for \d+ s \(.*refused.*\): lag unknown/);
      const st = await runCmd(['-C', env.ini, '--status']);
      assert.match(st.stdout, /^master: .*: UNREACHABLE for \d+ s: .*refused/m);
      const c = await checkUntil('CRITICAL', (r) => r.status === 'CRITICAL', 60_000, 1000);
      assert.match(c.text, /master unreachable for ([4-9]|\d\d+) s/);
    } finally {
      await env.sshd.start();
    }
    await waitFor('OK again', async () => (await check()).status === 'OK', 30_000, 500);
  });

  test("replication cut while the master writes: WARNING at once, CRITICAL past check_receiver_critical_seconds, with the server log's reason", async () => {
    writeFileSync(hba(), `host replication all 127.0.0.1/32 reject\n${hbaOriginal}`);
    await env.master.reload();
    await env.master.query('SELECT pg_terminate_backend(pid) FROM pg_stat_replication');
    try {
      await env.master.query('INSERT INTO t SELECT generate_series(1, 1000)');
      const w = await checkUntil('WARNING', (r) => r.status === 'WARNING', 30_000, 250);
      assert.match(w.text, /WAL receiver \w+ for \d+ s/);
      assert.equal(w.lagSource, 'master');
      const c = await checkUntil('CRITICAL', (r) => r.status === 'CRITICAL', 60_000, 1000);
      assert.match(c.text, /WAL receiver \w+ for ([4-9]|\d\d+) s/);
      assert.match(c.replicationError ?? '', /could not connect to the primary server|could not receive data from WAL stream|terminating walreceiver/, c.line);
    } finally {
      writeFileSync(hba(), hbaOriginal);
      await env.master.reload();
    }
    await waitOnStandby(env, 'the receiver back', 'SELECT status FROM pg_stat_wal_receiver', 'streaming', 60_000);
    await waitOnStandby(env, 'the rows written during the cut', 'SELECT count(*)::int FROM t', 1001, 60_000);
    await waitFor('OK again', async () => (await check()).status === 'OK', 30_000, 500);
  });

  test('a segment the master removed and the archive lacks: CRITICAL naming it', async () => {
    const stop = await runCmd(['-C', env.ini, '-A', 'stop']);
    assert.equal(stop.code, 0, stop.stderr);
    for (let i = 0; i < 4; i++) {
      await env.master.query('INSERT INTO t SELECT generate_series(1, 100)');
      await env.master.query('SELECT pg_switch_wal()');
    }
    await waitFor(
      'archiving',
      async () => Number(await env.master.scalar("SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.ready'")) === 0,
      60_000,
    );
    await env.master.query('CHECKPOINT');
    await env.master.query('CHECKPOINT');
    // The archive lost them too (say, cleaned by hand): nothing can bring them back.
    for (const n of readdirSync(env.archivedir)) if (/^[0-9A-F]{24}$/.test(n)) rmSync(join(env.archivedir, n));
    const start = await runCmd(['-C', env.ini, '-A', 'start']);
    assert.equal(start.code, 0, start.stderr);
    const c = await checkUntil('CRITICAL naming the segment', (r) => Boolean(r.removedSegment), 90_000, 1000);
    assert.equal(c.status, 'CRITICAL', c.line);
    assert.match(c.text, new RegExp(`the master removed ${c.removedSegment}, which this standby still needs`));
    assert.ok(!existsSync(join(env.master.pgdata, 'pg_wal', c.removedSegment!)), 'really gone from the master');
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  });
});

// pitr-test: once
/**
 * The loss window with and without the WAL receiver (wal_receiver): a row is committed on the
 * master, then the master is killed -9 before its segment is full (no archive_timeout), and -F999
 * promotes the warm standby. With the receiver the row is there; without it, it is not. Also: the
 * receiver adds complete segments to archivedir without replacing cmd_archiver's copies, is
 * restarted when pg_receivewal dies, and -A stop stops it.
 *
 * pg_receivewal refuses servers newer than itself, and this machine has it only for PostgreSQL 15
 * (Debian's postgresql-client-15; the npm builds of 14-18 ship the server alone): this file runs
 * on 15 whatever PITR_PG_VERSIONS says.
 */
process.env.PITR_PG_VERSION = '15';

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { initAndCopy, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, switchAndWaitArchived, writeIni } from './rig/standby-env.js';

after(cleanupAll);
const RECV = '/usr/lib/postgresql/15/bin/pg_receivewal';

/** A master and a warm standby (archive replay only), with or without the WAL receiver, started by -S. */
async function warmStandby(receiver: boolean): Promise<StandbyEnv> {
  const env = await standbyEnv({ archiver: 'cmd_archiver' });
  writeIni(env, {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'),
    pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    repl_db_user: env.master.user,
    ...(receiver ? { wal_receiver: 'on', pg_receivewal: RECV, wal_receiver_slot: 'pitr_test_recv' } : {}),
  });
  await prepareMaster(env, 'CREATE TABLE t (what text)');
  await initAndCopy(env);
  const r = await runCmd(['-C', env.ini, '-S']);
  assert.equal(r.code, 0, r.stderr);
  return env;
}

/** Commits a row, waits until the master has flushed it (and, with the receiver, until its slot has it), kills the master. */
async function lastWordsThenCrash(env: StandbyEnv, withReceiver: boolean): Promise<void> {
  await env.master.query("INSERT INTO t VALUES ('archived')");
  await switchAndWaitArchived(env.master);
  await env.master.query("INSERT INTO t VALUES ('last words')");
  const lsn = String(await env.master.scalar('SELECT pg_current_wal_flush_lsn()::text'));
  if (withReceiver) {
    await waitFor(
      'the WAL receiver to have flushed the last commit',
      async () => Boolean(await env.master.scalar("SELECT flush_lsn >= $1::pg_lsn FROM pg_stat_replication WHERE application_name = 'pg_receivewal'", [lsn])),
      30_000,
      100,
    );
  }
  const pid = Number(readFileSync(join(env.master.pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGKILL');
  await waitFor(
    'the master to be gone',
    async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    10_000,
  );
}

test('with the WAL receiver, a row committed seconds before the master died is on the promoted standby', async () => {
  const env = await warmStandby(true);
  const recv = join(env.archivedir, '.receivewal');
  const pid = await waitFor(
    "the receiver's pid file",
    async () => existsSync(join(recv, 'supervisor.pid')) && Number(readFileSync(join(recv, 'supervisor.pid'), 'utf8')),
    15_000,
  );
  await waitFor(
    'pg_receivewal streaming',
    async () =>
      Number(await env.master.scalar("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg_receivewal' AND state = 'streaming'")) === 1,
    30_000,
    200,
  );
  assert.equal(String(await env.master.scalar("SELECT active FROM pg_replication_slots WHERE slot_name = 'pitr_test_recv'")), 'true');

  // pg_receivewal killed: the supervisor starts it again.
  const child = String(await env.master.scalar("SELECT pid FROM pg_stat_replication WHERE application_name = 'pg_receivewal'"));
  await env.master.query('SELECT pg_terminate_backend($1)', [Number(child)]);
  await waitFor(
    'pg_receivewal streaming again',
    async () =>
      Number(await env.master.scalar("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg_receivewal' AND pid <> $1", [Number(child)])) === 1,
    60_000,
    200,
  );

  await lastWordsThenCrash(env, true);
  // Complete segments reach archivedir from both sides; the same bytes twice are no conflict.
  const f = await runCmd(['-C', env.ini, '-F999']);
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stderr, /using the WAL receiver's partial segment [0-9A-F]{24}/);
  assert.deepEqual(
    (await standbyQuery(env, 'SELECT what FROM t ORDER BY what')).map((r) => r.what),
    ['archived', 'last words'],
  );
  assert.ok(!existsSync(join(recv, 'supervisor.pid')), '-F999 stopped the receiver');
  // Gone, or the pid already reused by another program ('' when /proc has no such process any more).
  const cmdline = ((): string => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`).toString();
    } catch {
      return '';
    }
  })();
  assert.ok(!cmdline.includes('--receive-wal'), 'the supervisor is gone');
  assert.deepEqual(
    readdirSync(env.archivedir).filter((n) => n.endsWith('.partial')),
    [],
    'no partial segment in archivedir',
  );
});

test('without it, the same crash loses that row (the archive ends at the last complete segment)', async () => {
  const env = await warmStandby(false);
  await lastWordsThenCrash(env, false);
  const f = await runCmd(['-C', env.ini, '-F999']);
  assert.equal(f.code, 0, f.stderr);
  assert.deepEqual(
    (await standbyQuery(env, 'SELECT what FROM t ORDER BY what')).map((r) => r.what),
    ['archived'],
  );
});

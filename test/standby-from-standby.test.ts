// pitr-test: ends
/**
 * -B whose source is a running standby, and -A pause / -A resume. A master archives with
 * cmd_archiver into this standby's archivedir and streams to a second standby (the source); -B
 * copies the source. A standby's pg_backup_stop does not wait for archiving, so -B must wait until
 * the WAL from the backup's start to its stop LSN is in archivedir and refuse when it does not come
 * (the copy stays incomplete and -S refuses it). Then replay of the copy is paused and resumed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runAction } from '../packages/standby/src/commands/action.js';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { setReplayPaused } from '../packages/standby/src/commands/replay-pause.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { INCOMPLETE_MARKER } from '../packages/standby/src/state-files.js';
import { cleanupAll } from './rig/cleanup.js';
import { switchWal, waitFor, type PgCluster } from './rig/postgres.js';
import {
  ctxFor,
  prepareMaster,
  runCmd,
  standbyEnv,
  standbyQuery,
  startSourceStandby,
  switchAndWaitArchived,
  waitOnStandby,
  writeIni,
  type StandbyEnv,
} from './rig/standby-env.js';

let env: StandbyEnv;
let source: PgCluster;
const iniFor = (extra: Record<string, string>): void =>
  writeIni(env, {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'),
    pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    port: String(source.port),
    ...extra,
  });

before(async () => {
  // archive_timeout: the segment holding the backup's end must be finished and shipped, and only the
  // master can switch it (this is what docs/cmd_standby.md tells a DBA to set).
  env = await standbyEnv({ masterConf: { archive_timeout: 2, wal_keep_size: "'256MB'" } });
  await prepareMaster(env, 'CREATE TABLE t (i int)', 'INSERT INTO t VALUES (1)');
  source = await startSourceStandby(env);
  await waitFor('the source standby to replay the row', async () => Number(await source.scalar('SELECT count(*) FROM t')) === 1, 60_000, 200);
  iniFor({ backup_wal_timeout: '120' });
});
after(cleanupAll);

describe('-B from a running standby', () => {
  test('waits for the WAL in archivedir, then the copy starts and has the row written before the backup', async () => {
    assert.equal(await source.scalar('SELECT pg_is_in_recovery()'), true);
    // -P against it: it answers (exit 0, a standby may copy from a standby), and a WARNING says it is in recovery.
    const p = await runCmd(['-C', env.ini, '-P']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^Got response from the master \(PostgreSQL [\d.]+\)$/m);
    assert.match(p.stderr, /WARNING: the master PostgreSQL 127\.0\.0\.1:\d+ via ssh \S+ is in recovery: it is a standby, not a master/);
    const pj = await runCmd(['-C', env.ini, '-P', '--json']);
    assert.equal(pj.code, 0, pj.stderr);
    assert.equal((JSON.parse(pj.stdout) as { inRecovery: boolean }).inRecovery, true);
    const ctx = ctxFor(env);
    await initStandby(ctx);
    // While -B waits, the DBA's part (docs/cmd_standby.md): finish the segment holding the stop
    // LSN on the master. archive_timeout alone does not when the master is idle: the source's
    // stop LSN can fall just after a running-xacts record, which does not count as a write.
    let settled = false;
    const backup = basebackup(ctx).finally(() => {
      settled = true;
    });
    const switched = (async () => {
      while (!settled && !ctx.log.lines.some((l) => /the source is a standby: its backup/.test(l))) await new Promise((res) => setTimeout(res, 100));
      if (!settled) await env.master.query('SELECT pg_switch_wal()');
    })();
    const r = await backup;
    await switched;
    assert.ok(
      ctx.log.lines.some((l) => /backup started on the source standby at /.test(l)),
      ctx.log.lines.join('\n'),
    );
    assert.ok(
      ctx.log.lines.some((l) =>
        /the source is a standby: its backup \(.* to .*\) needs \d+ WAL segments?, [0-9A-F]{24} to [0-9A-F]{24}, from archivedir/.test(l),
      ),
      ctx.log.lines.join('\n'),
    );
    assert.ok(
      ctx.log.lines.some((l) => /all \d+ WAL segments of the backup are in archivedir/.test(l)),
      ctx.log.lines.join('\n'),
    );
    assert.match(readFileSync(join(env.pgdata, 'backup_label'), 'utf8'), /^BACKUP FROM: standby$/m);
    assert.ok(!existsSync(join(env.pgdata, INCOMPLETE_MARKER)));
    assert.match(r.stopLsn, /^[0-9A-F]+\/[0-9A-F]+$/);
    await startStandby(ctx, { iniPath: env.ini });
    await waitOnStandby(env, 'the row written before the backup', 'SELECT count(*)::int FROM t WHERE i = 1', 1, 120_000);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  });
});

describe('-A pause and -A resume', () => {
  test('pause stops replay (a row shipped meanwhile stays invisible, --check says paused), resume shows it', async () => {
    const p = await runCmd(['-C', env.ini, '-A', 'pause']);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.match(p.stdout, /^Replay (paused|pause requested) at [0-9A-F]+\/[0-9A-F]+/m);
    await env.master.query('INSERT INTO t VALUES (2)');
    const seg = await switchAndWaitArchived(env.master);
    await waitFor(`${seg} in archivedir`, async () => existsSync(join(env.archivedir, seg)), 60_000, 200);
    // The startup process reaches the new WAL and stops in front of it: 'paused', not a guess about time.
    await waitOnStandby(env, 'replay to pause at the new WAL', 'SELECT pg_get_wal_replay_pause_state()', 'paused', 60_000);
    assert.deepEqual(await standbyQuery(env, 'SELECT count(*)::int AS n FROM t WHERE i = 2'), [{ n: 0 }]);
    const c = await runCmd(['-C', env.ini, '--check']);
    assert.equal(c.code, 1, c.stdout);
    assert.match(
      c.stdout,
      /^PITR_STANDBY WARNING - in recovery, replay PAUSED, .*replay paused \(-A pause\): WAL arrives but is not applied, the lag grows until cmd_standby -A resume/m,
    );
    // The "master" of this ini is the source standby: its replay position is what the lag is measured against.
    assert.doesNotMatch(c.stdout, /master unreachable/);
    assert.match(c.stdout, /replay lag \d+ B \(vs master\)/);
    const j = JSON.parse((await runCmd(['-C', env.ini, '--check', '--json'])).stdout) as { replayPaused: boolean; replayPauseState: string };
    assert.equal(j.replayPaused, true);
    assert.equal(j.replayPauseState, 'paused');
    const s = await runCmd(['-C', env.ini, '--status']);
    assert.match(s.stdout, /^standby: in recovery, replay PAUSED;/m);
    const r = await runCmd(['-C', env.ini, '-Aresume']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Replay resumed at /m);
    await waitOnStandby(env, 'the row after resume', 'SELECT count(*)::int FROM t WHERE i = 2', 1, 60_000);
    assert.equal((await runCmd(['-C', env.ini, '--check', '--json'])).stdout.includes('"replayPauseState":"not paused"'), true);
  });

  test('refused on a server that is not in recovery, and on a stopped one', async () => {
    const onMaster = { ...ctxFor(env) };
    onMaster.config = { ...onMaster.config, pgdata: env.master.pgdata };
    await assert.rejects(
      setReplayPaused(onMaster, true),
      (e: Error & { code?: string }) =>
        e.code === 'NOT_A_STANDBY' && /cannot pause replay \(-A pause\): the local server in .* is not in recovery/.test(e.message),
    );
    await runAction(ctxFor(env), 'stop');
    const r = await runCmd(['-C', env.ini, '-A', 'resume']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cannot resume replay \(-A resume\): the local PostgreSQL is not running/);
  });
});

describe('-B from a standby whose WAL does not reach archivedir', () => {
  test('is refused naming the missing segment and where it was expected; the copy stays incomplete and -S refuses it', async () => {
    // The master's cmd_archiver goes offline (PostgreSQL keeps the WAL and retries): nothing new reaches archivedir.
    const archiverIni = join(env.dir, 'cmd_archiver.ini');
    const online = readFileSync(archiverIni, 'utf8');
    writeFileSync(archiverIni, `${online}state: offline\n`);
    const failed = Number(await env.master.scalar('SELECT failed_count FROM pg_stat_archiver'));
    await env.master.query('INSERT INTO t VALUES (3)');
    const unshipped = await switchWal(env.master);
    await waitFor(
      'archiving to fail (offline)',
      async () => Number(await env.master.scalar('SELECT failed_count FROM pg_stat_archiver')) > failed,
      60_000,
      200,
    );
    // A checkpoint after that: the source's restartpoint there is the backup's start, in WAL that never reaches archivedir.
    await env.master.query('CHECKPOINT');
    const lsn = String(await env.master.scalar('SELECT pg_current_wal_lsn()'));
    await waitFor(
      'the source to replay the checkpoint',
      async () => Boolean(await source.scalar('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn', [lsn])),
      60_000,
      200,
    );
    assert.ok(!existsSync(join(env.archivedir, unshipped)), `${unshipped} must not have been shipped`);
    try {
      iniFor({ backup_wal_timeout: '6' });
      const ctx = ctxFor(env);
      await assert.rejects(basebackup(ctx), (e: Error & { code?: string; hint?: string }) => {
        assert.equal(e.code, 'BASEBACKUP_FAILED');
        assert.match(
          e.message,
          new RegExp(
            `the source is a standby and the WAL its backup needs \\([0-9A-F]{24} to [0-9A-F]{24}\\) did not all reach archivedir within 6 s \\(backup_wal_timeout\\): [0-9A-F]{24} is not in ${env.archivedir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
          ),
        );
        assert.match(
          e.hint ?? '',
          /master's cmd_archiver must ship to this host's archivedir.*pg_switch_wal\(\).*incomplete \(pitrtools_basebackup\.incomplete\)/,
        );
        return true;
      });
      assert.ok(existsSync(join(env.pgdata, INCOMPLETE_MARKER)));
      assert.ok(!existsSync(join(env.pgdata, 'backup_label')));
      await assert.rejects(startStandby(ctx, { iniPath: env.ini }), (e: Error & { code?: string }) => e.code === 'COPY_INCOMPLETE');
    } finally {
      writeFileSync(archiverIni, online);
    }
  });
});

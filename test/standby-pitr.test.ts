// pitr-test: long
/**
 * Point-in-time recovery end to end: -B into a cold copy, rows committed on the master before and
 * after a time T, then -F999 -R T: the rows before T are there, the rows after are not, and the
 * time reached is reported. Also the refusals: a target before the copy's start, a malformed
 * timestamp, and a target the archive cannot reach. And time zones: a zone-less target is read in
 * the server's timezone whatever cmd_standby's TZ, '...T...Z' is written as a numeric offset, and
 * the copy's start is not guessed from an ambiguous zone abbreviation in backup_label.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runAction } from '../packages/standby/src/commands/action.js';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { pointInTimeRecovery } from '../packages/standby/src/commands/pitr.js';
import { pitrLines } from '../packages/standby/src/cli/results.js';
import { parseTargetTime, resolveTarget, type TargetInput } from '../packages/standby/src/recovery/target-time.js';
import { cleanupAll } from './rig/cleanup.js';
import { ctxFor, initAndCopy, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, switchAndWaitArchived } from './rig/standby-env.js';

let env: StandbyEnv;
before(async () => {
  env = await standbyEnv({ archiver: 'cp' });
  await prepareMaster(env, 'CREATE TABLE t (what text)');
  await initAndCopy(env);
});
after(cleanupAll);

function target(text: string): TargetInput {
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
  await assert.rejects(
    pointInTimeRecovery(ctx, { iniPath: env.ini, target: target('2001-01-01 00:00:00+00') }),
    (e: Error & { code?: string }) => e.code === 'TARGET_BEFORE_COPY' && /this copy starts at .*needs an older base backup/.test(e.message),
  );
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
  assert.deepEqual(
    rows.map((r) => r.what),
    ['before 1', 'before 2'],
  );
  assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
  await standbyQuery(env, "INSERT INTO t VALUES ('written after recovery')");
  assert.ok(res.lastReplayed !== null && res.lastReplayed.getTime() <= resolveTarget(target(t)).epochMs, `reached ${res.lastReplayed?.toISOString()}`);
  assert.ok(res.stoppedBefore !== undefined, 'the log names the first transaction after T');
  assert.match(
    pitrLines(res).join('\n'),
    /^Recovered to .*: last replayed transaction committed at .* \(stopped before a transaction committed at .*\); the server is read-write$/m,
  );
  assert.ok(
    ctx.log.messages.some(([level, m]) => level === 'WARNING' && /diverging master/.test(m)),
    'warned that the master is up',
  );
});

test('a target the archive cannot reach: "target not reached", exit 1', async () => {
  const ctx = ctxFor(env);
  await runAction(ctx, 'stop');
  await basebackup(ctx);
  const r = await runCmd(['-C', env.ini, '-F999', '-R', '2999-01-01 00:00:00+00']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /target not reached: recovery ended before configured recovery target was reached/);
});

/**
 * A fresh, full copy of the master into an empty pgdata (the standby's server stopped first).
 * Full: -B over a copy that a previous -R promoted once gave a corrupt catalog here (left to -B's owners).
 */
async function freshCopy(): Promise<void> {
  const ctx = ctxFor(env);
  if (existsSync(join(env.pgdata, 'postmaster.pid'))) await runAction(ctx, 'stop');
  rmSync(env.pgdata, { recursive: true, force: true });
  await basebackup(ctx);
}

/** Commits 'before' in `table`, reads T with `sql`, commits 'after', archives; returns T. */
async function rowsAround(table: string, sql: string): Promise<string> {
  await env.master.query(`INSERT INTO ${table} VALUES ('before')`);
  const t = String(await env.master.scalar(sql));
  await env.master.query(`INSERT INTO ${table} VALUES ('after')`);
  await switchAndWaitArchived(env.master);
  return t;
}

test("a zone-less -R is read in the server's timezone, not in cmd_standby's TZ", async () => {
  const conf = join(env.dir, 'conf', 'postgresql.conf');
  const original = readFileSync(conf, 'utf8');
  writeFileSync(conf, `${original}timezone = 'America/New_York'\n`);
  try {
    await env.master.query('CREATE TABLE tz_server (what text)');
    await freshCopy();
    const t = await rowsAround('tz_server', "SELECT to_char(clock_timestamp() AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI:SS.US')");
    // Tokyo is 13-14 hours away from New York: read there, T would lie before the copy.
    const r = await runCmd(['-C', env.ini, '-F999', '-R', t], { env: { TZ: 'Asia/Tokyo' } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await standbyQuery<{ what: string }>(env, 'SELECT what FROM tz_server')).map((x) => x.what),
      ['before'],
    );
    // pitrtools.conf is emptied after the promotion; stdout names the recovery_target_time written.
    assert.match(r.stdout, new RegExp(`^Recovered to ${t.replace(/[.]/g, '\\.')}-0[45]: `, 'm'));
  } finally {
    writeFileSync(conf, original);
  }
});

test("-R '...T...Z' is written as a numeric offset that PostgreSQL accepts", async () => {
  await env.master.query('CREATE TABLE tz_zulu (what text)');
  await freshCopy();
  const t = await rowsAround('tz_zulu', `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
  const r = await runCmd(['-C', env.ini, '-F999', '-R', t]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    (await standbyQuery<{ what: string }>(env, 'SELECT what FROM tz_zulu')).map((x) => x.what),
    ['before'],
  );
  assert.match(r.stdout, new RegExp(`^Recovered to ${t.replace('T', ' ').replace(/Z$/, '').replace(/[.]/g, '\\.')}\\+00: `, 'm'));
  // Abbreviations, which PostgreSQL refuses at start-up, are refused before anything starts.
  const abbr = await runCmd(['-C', env.ini, '-F999', '-R', '2026-05-28 11:00:38 CEST']);
  assert.equal(abbr.code, 2, abbr.stderr);
  assert.match(abbr.stderr, /-R: 'CEST' in '2026-05-28 11:00:38 CEST': abbreviations are ambiguous .*write it like '2026-05-28 11:00:38\.059389\+02'/);
});

test("the copy's start is -B's record, not backup_label's ambiguous abbreviation (CST: -06 or +08)", async () => {
  // PostgreSQL writes START TIME in log_timezone's abbreviation: Shanghai's is CST, as Chicago's.
  await env.master.setConf({ log_timezone: "'Asia/Shanghai'" });
  await env.master.reload();
  await env.master.query('CREATE TABLE tz_label (what text)');
  try {
    await freshCopy();
    assert.match(readFileSync(join(env.pgdata, 'backup_label'), 'utf8'), /^START TIME: .* CST$/m);
    const t = await rowsAround('tz_label', "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
    // Without the record (a copy of an older -B), the start is not guessed: refused, nothing started.
    const record = join(env.pgdata, 'pitrtools.backup');
    copyFileSync(record, `${record}.saved`);
    rmSync(record);
    const refused = await runCmd(['-C', env.ini, '-F999', '-R', t]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /cannot tell whether .* is after this copy's start: backup_label says START TIME .* CST/);
    assert.ok(!existsSync(join(env.pgdata, 'postmaster.pid')) && existsSync(join(env.pgdata, 'backup_label')), 'nothing was started');
    copyFileSync(`${record}.saved`, record);
    rmSync(`${record}.saved`);
    const r = await runCmd(['-C', env.ini, '-F999', '-R', t]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await standbyQuery<{ what: string }>(env, 'SELECT what FROM tz_label')).map((x) => x.what),
      ['before'],
    );
  } finally {
    await env.master.setConf({ log_timezone: "'UTC'" });
    await env.master.reload();
  }
});

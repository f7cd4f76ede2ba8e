// pitr-test: ends
/**
 * Refusals PostgreSQL must see as failures: `state: offline` (the segment stays in pg_wal, one
 * warning, then it catches up when online), and a different file already under the next
 * segment's name on a slave (never overwritten, one critical alert however often PostgreSQL
 * retries; archiving resumes once it is moved away).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256File, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

after(cleanupAll);

let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'refusals', slaves: 2 });
});

/** Switches to a new segment; returns the name of the one that became ready to archive. */
async function switchWal(): Promise<string> {
  const name = await env.pg.scalar<string>('SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
  await env.pg.query("CREATE TABLE IF NOT EXISTS t (x text); INSERT INTO t VALUES ('x')");
  await env.pg.query('SELECT pg_switch_wal()');
  return name;
}
const ready = (name: string): boolean => existsSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${name}.ready`));

test('state: offline: failed_count grows, the segment stays .ready in pg_wal, one notify_warning; online: it catches up, notify_ok', async () => {
  const warmup = await switchWal();
  await waitFor('warm-up archived', async () => (await env.stats()).last === warmup);
  env.writeIni({ state: 'offline' });
  const base = await env.stats();
  const name = await switchWal();
  await waitFor('two failed attempts', async () => (await env.stats()).failed >= base.failed + 2, 30_000);
  assert.ok(ready(name), 'still .ready');
  assert.ok(existsSync(join(env.pg.pgdata, 'pg_wal', name)), 'still in pg_wal');
  for (const s of env.slaves) assert.ok(!existsSync(join(s.rdir, name)), 'not shipped');
  assert.notEqual((await env.stats()).last, name);
  const warnings = env.alerts().filter((a) => a.event === 'archiving_offline');
  assert.equal(warnings.length, 1, 'one warning for the offline period, not one per attempt');
  assert.equal(warnings[0]!.level, 'WARNING');
  assert.match(warnings[0]!.message, /archiving is offline \(state: offline in .*cmd_archiver\.ini\)/);
  assert.match(readFileSync(env.pg.logFile, 'utf8'), /archive command failed with exit code 3/);
  const check = await env.run(['-C', env.ini, '--check']);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /^PITR_ARCHIVER WARNING - archiving is offline/);

  env.writeIni({});
  await env.pg.reload(); // wakes PostgreSQL's archiver, which waits a minute after three failures
  await waitFor('caught up', async () => (await env.stats()).last === name, 60_000);
  for (const s of env.slaves) assert.equal(sha256File(join(s.rdir, name)), sha256File(join(env.pg.pgdata, 'pg_wal', name)));
  const ok = await waitFor('notify_ok', async () => env.alerts().find((a) => a.event === 'archiving_online'));
  assert.equal(ok.level, 'OK');
  assert.equal(env.alerts().filter((a) => a.event === 'archiving_offline').length, 1);
});

test('a different file under the next name on a slave: not overwritten, non-zero, one critical alert; moved away: archiving resumes', async () => {
  const [a, b] = env.slaves as [(typeof env.slaves)[0], (typeof env.slaves)[0]];
  const next = await env.pg.scalar<string>('SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
  const impostor = join(a.rdir, next);
  writeFileSync(impostor, "not this cluster's WAL\n");
  const base = await env.stats();
  assert.equal(await switchWal(), next);
  await waitFor('three failed attempts', async () => (await env.stats()).failed >= base.failed + 3, 30_000);
  assert.equal(readFileSync(impostor, 'utf8'), "not this cluster's WAL\n", "the slave's file is untouched");
  assert.ok(ready(next));
  assert.match(readFileSync(env.pg.logFile, 'utf8'), /archive command failed with exit code 4/);
  const conflicts = env.alerts().filter((x) => x.event === 'archive_conflict');
  assert.equal(conflicts.length, 1, 'one alert for this slave and file, not one per retry');
  assert.equal(conflicts[0]!.level, 'CRITICAL');
  assert.equal(conflicts[0]!.slave, a.name);
  assert.match(conflicts[0]!.message, new RegExp(`slave ${a.name} .* already has a different ${next} in ${a.rdir}; it was NOT overwritten`));
  assert.equal(sha256File(join(b.rdir, next)), sha256File(join(env.pg.pgdata, 'pg_wal', next)), 'the other slave got it');
  const check = await env.run(['-C', env.ini, '--check']);
  assert.equal(check.code, 2, check.stdout);
  assert.match(check.stdout, new RegExp(`^PITR_ARCHIVER CRITICAL - ${a.name} holds a different ${next}`));

  rmSync(impostor);
  await env.pg.reload();
  await waitFor('archived after all', async () => (await env.stats()).last === next, 60_000);
  for (const s of env.slaves) assert.equal(sha256File(join(s.rdir, next)), sha256File(join(env.pg.pgdata, 'pg_wal', next)));
  assert.equal((await env.run(['-C', env.ini, '--check'])).code, 0, 'the conflict is cleared once delivered');
  const after = await switchWal();
  await waitFor('the next one too', async () => (await env.stats()).last === after);
  assert.equal(env.alerts().filter((x) => x.event === 'archive_conflict').length, 1);
});

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanupAll } from './rig/cleanup.js';
import { makeSegments, startPostgres, switchWal, waitFor } from './rig/postgres.js';

after(cleanupAll);

test('the rig starts a real PostgreSQL as an unprivileged user and archives with a real archive_command', async () => {
  assert.notEqual(process.getuid?.(), 0, 'tests must not run as root');
  const pg = await startPostgres({ name: 'rig', conf: { archive_mode: 'on', archive_command: "'/bin/true'" } });
  const num = Number(await pg.scalar('SHOW server_version_num'));
  assert.equal(Math.floor(num / 10000), pg.major);
  await makeSegments(pg, 3);
  const archived = await waitFor('3 archived segments', async () => {
    const n = Number(await pg.scalar('SELECT archived_count FROM pg_stat_archiver'));
    return n >= 3 ? n : undefined;
  });
  assert.ok(archived >= 3);
  await pg.stop();
  assert.equal(await pg.isRunning(), false);
});

test('switchWal names the segment the switch finished, also when nothing was written since the last switch', async () => {
  const pg = await startPostgres({ name: 'switch' });
  await pg.query('CREATE TABLE t (i int)');
  const current = String(await pg.scalar('SELECT pg_walfile_name(pg_current_wal_insert_lsn())'));
  assert.equal(await switchWal(pg), current, 'a switch after a write finishes the segment written to');
  // Nothing written since: what archive_timeout racing a test's pg_switch_wal() leaves. PostgreSQL 17+
  // names the unfinished segment for pg_walfile_name(pg_switch_wal()) here, and nothing archives it.
  const idle = await switchWal(pg);
  const now = String(await pg.scalar('SELECT pg_walfile_name(pg_current_wal_insert_lsn())'));
  assert.ok(idle >= current && idle < now, `an idle switch names a finished segment (${idle}), not the one in use (${now})`);
  await pg.stop();
});

test("clusters of one test file have distinct system identifiers; the first is a copy of the run's initdb template", async () => {
  // Arguments no other file uses, so this file owns the template's key (test/rig/postgres.ts initCluster).
  const initdbArgs = ['--wal-segsize=2'];
  const sysid = (pgdata: string): bigint => readFileSync(join(pgdata, 'global', 'pg_control')).readBigUInt64LE(0);
  const a = await startPostgres({ name: 'sysid-a', noStart: true, initdbArgs });
  const b = await startPostgres({ name: 'sysid-b', noStart: true, initdbArgs });
  assert.notEqual(sysid(a.pgdata), sysid(b.pgdata), 'a second cluster of the same file runs its own initdb');
  const cache = process.env.PITR_TEST_TEMPLATES;
  assert.ok(cache, 'PITR_TEST_TEMPLATES is set (run the tests through scripts/run-tests.mjs)');
  const ids = readdirSync(cache)
    .filter((n) => /^[0-9a-f]{16}$/.test(n))
    .map((n) => sysid(join(cache, n)));
  assert.ok(ids.includes(sysid(a.pgdata)), 'the first cluster is the template (made by it, or copied from it)');
  assert.ok(!ids.includes(sysid(b.pgdata)), 'the second is not');
});

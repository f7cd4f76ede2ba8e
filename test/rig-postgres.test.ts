import assert from 'node:assert/strict';
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

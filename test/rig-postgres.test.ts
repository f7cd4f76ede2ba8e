import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cleanupAll } from './rig/cleanup.js';
import { makeSegments, startPostgres, waitFor } from './rig/postgres.js';

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

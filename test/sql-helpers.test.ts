import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { connectPg } from '../packages/core/src/pg/client.js';
import {
  HELPERS_SQL_PATH,
  HELPERS_VERSION,
  installHelpers,
  installedHelpersVersion,
  queryWithHelpers,
  requireHelpers,
} from '../packages/core/src/pg/helpers.js';
import { cleanupAll } from './rig/cleanup.js';
import { startPostgres } from './rig/postgres.js';

after(cleanupAll);

test('sql/cmd_standby.sql installs idempotently and its backup functions work on this major', async () => {
  const pg = await startPostgres({ name: 'helpers' });
  const s = await connectPg({ host: pg.socketDir, port: pg.port, user: pg.user, database: 'postgres' });
  try {
    assert.equal(await installedHelpersVersion(s), undefined);
    await assert.rejects(
      requireHelpers(s, 'the master'),
      (e: Error & { code?: string; hint?: string }) =>
        e.code === 'HELPERS_MISSING' && /--install-helpers/.test(e.hint ?? '') && (e.hint ?? '').includes(HELPERS_SQL_PATH),
    );
    // The check folded into a first question (-B): the same error, whichever helper the query calls.
    const infoQuery = () => s.query<{ helpers_version: number }>('SELECT cmd_helpers_version() AS helpers_version, * FROM cmd_server_info()');
    await assert.rejects(
      queryWithHelpers(s, 'the master', infoQuery),
      (e: Error & { code?: string }) => e.code === 'HELPERS_MISSING' && /are not installed/.test(e.message),
    );
    assert.equal(await installHelpers(s), HELPERS_VERSION);
    assert.equal(await installHelpers(s), HELPERS_VERSION, 'a second install must succeed (idempotent)');
    assert.equal(Number((await queryWithHelpers(s, 'the master', infoQuery))[0]!.helpers_version), HELPERS_VERSION);
    await assert.rejects(
      queryWithHelpers(s, 'the master', () => s.query<{ helpers_version: number }>(`SELECT ${HELPERS_VERSION - 1} AS helpers_version`)),
      (e: Error & { code?: string }) =>
        e.code === 'HELPERS_MISSING' && new RegExp(`are version ${HELPERS_VERSION - 1}, this pitrtools needs ${HELPERS_VERSION}`).test(e.message),
    );
    // psql -f, as the docs say, works too (Debian's psql is a client for every major).
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', pg.socketDir, '-p', String(pg.port), '-f', HELPERS_SQL_PATH, 'postgres']);
    await requireHelpers(s, 'the master');

    const dirs = await s.query<{ d: string }>('SELECT d FROM cmd_get_data_dirs() d');
    assert.deepEqual(
      dirs.map((r) => r.d),
      [pg.pgdata],
    );
    assert.equal(await s.scalar('SELECT cmd_get_pgdata()'), pg.pgdata);
    const info = (await s.query('SELECT * FROM cmd_server_info()'))[0]!;
    assert.equal(Math.floor(Number(info.version_num) / 10000), pg.major);
    assert.equal(info.in_recovery, false);
    assert.equal(Number(info.wal_segment_size), 16 * 1024 * 1024);

    const start = await s.scalar<string>("SELECT cmd_backup_start('pitrtools test', true)");
    assert.match(start!, /^[0-9A-F]+\/[0-9A-F]+$/);
    const stop = (await s.query<{ lsn: string; labelfile: string; spcmapfile: string }>('SELECT * FROM cmd_backup_stop(false)'))[0]!;
    assert.match(stop.labelfile, /^START WAL LOCATION: /);
    assert.match(stop.labelfile, /LABEL: pitrtools test/);
    assert.equal(stop.spcmapfile, '');
  } finally {
    await s.end();
  }
});

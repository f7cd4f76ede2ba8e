/** -F validation against a real directory tree: only regular files in pgdata/pg_wal with WAL names pass. */
import assert from 'node:assert/strict';
import { chmodSync, promises as fsp, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PitrError } from '@pitrtools/core/errors';
import { resolveSegment } from '../src/archive/segment-input.js';
import { seg } from './fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-seg-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pgdata = join(dir, 'data');
const walReal = join(dir, 'wal-elsewhere'); // pg_wal as a symlink, as initdb -X makes it
mkdirSync(pgdata);
mkdirSync(walReal);
symlinkSync(walReal, join(pgdata, 'pg_wal'));
writeFileSync(join(walReal, seg(1)), 'segment one');
writeFileSync(join(walReal, '00000002.history'), 'history');
writeFileSync(join(walReal, seg(5)), 'being written');
writeFileSync(join(walReal, seg(6)), 'archived before');
mkdirSync(join(walReal, 'archive_status'));
for (const marked of [`${seg(1)}.ready`, '00000002.history.ready', `${seg(6)}.done`]) writeFileSync(join(walReal, 'archive_status', marked), '');
mkdirSync(join(walReal, seg(2)));
writeFileSync(join(dir, seg(3)), 'outside');
symlinkSync(join(dir, seg(3)), join(walReal, seg(3)));
writeFileSync(join(dir, 'passwd'), 'root:x:0:0');
symlinkSync(join(dir, 'passwd'), join(walReal, seg(4)));

const refused = (file: string, code: string, exit: number, text: RegExp) => async () => {
  await assert.rejects(resolveSegment(file, pgdata, fsp), (e: Error & { code?: string; exitCode?: number }) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.exitCode, exit);
    assert.match(e.message, text);
    assert.ok(!e.message.includes('\n'), 'never a raw newline in the message');
    return true;
  });
};

describe('resolveSegment', () => {
  it('accepts %p as PostgreSQL passes it (relative to pgdata) and the absolute path, through a symlinked pg_wal', async () => {
    const a = await resolveSegment(`pg_wal/${seg(1)}`, pgdata, fsp);
    assert.deepEqual({ name: a.name, path: a.path, size: a.size }, { name: seg(1), path: join(walReal, seg(1)), size: 11 });
    const b = await resolveSegment(join(pgdata, 'pg_wal', '00000002.history'), pgdata, fsp);
    assert.equal(b.name, '00000002.history');
  });
  it('refuses ../', refused(`pg_wal/../pg_wal/${seg(1)}`, 'BAD_WAL_PATH', 2, /contains '\.\.'/));
  it('refuses /etc/passwd', refused('/etc/passwd', 'BAD_WAL_NAME', 2, /"passwd" is not a WAL file name/));
  it('refuses $(touch x) without running anything', refused('pg_wal/$(touch x)', 'BAD_WAL_NAME', 2, /not a WAL file name/));
  it('refuses a name with a newline, shown escaped', refused(`pg_wal/${seg(1)}\nFORGED LOG LINE`, 'BAD_WAL_NAME', 2, /\\nFORGED/));
  it('refuses a WAL name outside pg_wal', refused(join(dir, seg(3)), 'BAD_WAL_PATH', 2, /is not in/));
  it('refuses a directory', refused(`pg_wal/${seg(2)}`, 'BAD_WAL_PATH', 2, /is a directory/));
  it('refuses a symlink in pg_wal pointing out of it', refused(`pg_wal/${seg(3)}`, 'BAD_WAL_PATH', 2, /symbolic link/));
  it('refuses a symlink to /etc/passwd-like files', refused(`pg_wal/${seg(4)}`, 'BAD_WAL_PATH', 2, /symbolic link/));
  it('a missing segment is exit 1', refused(`pg_wal/${seg(9)}`, 'WAL_MISSING', 1, /does not exist/));
  it(
    'a segment PostgreSQL has not finished (no .ready, no .done) is exit 1 and says why',
    refused(`pg_wal/${seg(5)}`, 'WAL_NOT_READY', 1, /not marked for archiving/),
  );
  it('a segment marked .done (archived before) is accepted again', async () => {
    assert.equal((await resolveSegment(`pg_wal/${seg(6)}`, pgdata, fsp)).name, seg(6));
  });
  it('refuses an empty -F', refused('', 'BAD_WAL_PATH', 2, /names no file/));
  it('a pgdata without pg_wal is a config error', async () => {
    await assert.rejects(resolveSegment(`pg_wal/${seg(1)}`, dir, fsp), (e: Error & { code?: string }) => e.code === 'NO_PG_WAL');
  });
  it('a pgdata we may not enter says permission denied and whom to run as, not "no pg_wal"', async () => {
    chmodSync(pgdata, 0o000);
    try {
      await assert.rejects(resolveSegment(`pg_wal/${seg(1)}`, pgdata, fsp), (e: PitrError) => {
        assert.equal(e.code, 'NO_PG_WAL');
        assert.match(e.message, /pg_wal cannot be reached by user \S+ \(permission denied, EACCES\)/);
        assert.match(e.hint ?? '', /run it as the user PostgreSQL runs as/);
        return true;
      });
    } finally {
      chmodSync(pgdata, 0o700);
    }
  });
});

/**
 * -I's rough edges (issue 16 part 8): an explicit pg_ctl / pg_bin that does not work is an error
 * naming the key (it used to fall back silently to whatever PATH or /usr/lib/postgresql held), and
 * the directories -I creates are all or nothing, with errno put into words.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PitrError } from '@pitrtools/core/errors';
import { locatePgBinaries } from '@pitrtools/core/pg/binaries';
import { createPrivateDirs } from '../src/local/private-dirs.js';

const tmp = mkdtempSync(join(tmpdir(), 'pitr-init-'));
after(() => {
  chmodSync(join(tmp, 'ro'), 0o700);
  rmSync(tmp, { recursive: true, force: true });
});

/** A bin directory whose pg_ctl says it is PostgreSQL `major` (and a postgres beside it unless told). */
function fakeBin(dir: string, major: number, postgres = true): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pg_ctl'), `#!/bin/sh\necho "pg_ctl (PostgreSQL) ${major}.4"\n`, { mode: 0o755 });
  if (postgres) writeFileSync(join(dir, 'postgres'), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

describe('pg_ctl / pg_bin keys are decisive', () => {
  const distRoot = join(tmp, 'usr-lib-postgresql');
  fakeBin(join(distRoot, '15', 'bin'), 15); // a working installation the old search fell back to
  const search = { path: '', distRoot, wantMajor: 15, file: '/etc/pitrtools/cmd_standby.ini' };
  const refused = (o: object, re: RegExp): void => {
    assert.throws(
      () => locatePgBinaries({ ...search, ...o }),
      (e: unknown) => {
        assert.ok(e instanceof PitrError);
        assert.equal(e.code, 'PG_BINARIES_KEY');
        assert.equal(e.exitCode, 2);
        assert.match(e.message, re);
        assert.match(e.hint ?? '', /of PostgreSQL 15 \(e\.g\. \/usr\/lib\/postgresql\/15\/bin.*or remove the key/);
        return true;
      },
    );
  };

  it("without a key the search finds a PostgreSQL 15 (so each refusal below is the key's, not a lack of binaries)", () => {
    assert.equal(locatePgBinaries(search).major, 15);
  });
  it('a pg_ctl that is not there, a pg_bin without postgres, a pg_ctl of another major: errors naming file, key and value', () => {
    refused(
      { pg_ctl: '/nonexistent/bin/pg_ctl' },
      /^\/etc\/pitrtools\/cmd_standby\.ini: pg_ctl: \/nonexistent\/bin\/pg_ctl: \/nonexistent\/bin\/pg_ctl is not an executable file$/,
    );
    const noPostgres = fakeBin(join(tmp, 'nopg'), 15, false);
    refused({ pg_bin: noPostgres }, new RegExp(`^/etc/pitrtools/cmd_standby\\.ini: pg_bin: ${noPostgres}: no postgres in ${noPostgres}$`));
    const fourteen = fakeBin(join(tmp, 'pg14'), 14);
    refused({ pg_ctl: join(fourteen, 'pg_ctl') }, /pg_ctl: .*\/pg14\/pg_ctl: PostgreSQL 14, the master runs 15$/);
  });
  it('a pg_ctl key that works is used', () => {
    const good = fakeBin(join(tmp, 'good'), 15);
    assert.deepEqual(
      [locatePgBinaries({ ...search, pg_ctl: join(good, 'pg_ctl') }).bindir, locatePgBinaries({ ...search, pg_ctl: join(good, 'pg_ctl') }).source],
      [good, 'pg_ctl key'],
    );
  });
});

describe('-I creates its directories all or nothing', () => {
  it('a directory that cannot be made removes the ones made before it (with their new parents); errno in words', async () => {
    const existing = join(tmp, 'existing');
    mkdirSync(existing, { mode: 0o700 });
    const ro = join(tmp, 'ro');
    mkdirSync(ro, { mode: 0o500 });
    const warnings: string[] = [];
    await assert.rejects(
      createPrivateDirs(
        [
          ['pgdata', join(tmp, 'new', 'parent', 'pgdata')],
          ['the directory of tablespace ts1', existing],
          ['archivedir', join(ro, 'archive')],
        ],
        (w) => warnings.push(w),
      ),
      (e: unknown) => {
        assert.ok(e instanceof PitrError);
        assert.equal(e.code, 'CANNOT_CREATE_DIR');
        assert.equal(
          e.message,
          `cannot create archivedir ${join(ro, 'archive')}: permission denied: ${userInfo().username} may not create it in ${ro} (EACCES); nothing was left behind`,
        );
        assert.match(e.hint ?? '', new RegExp(`^create it as root for this user: install -d -m 0700 -o \\S+ ${join(ro, 'archive')}$`));
        return true;
      },
    );
    assert.equal(existsSync(join(tmp, 'new')), false, 'pgdata and its new parents were left behind');
    assert.equal(existsSync(existing), true, 'a directory that existed before was removed');
  });

  it('all made: each reported, the new ones listed', async () => {
    const r = await createPrivateDirs(
      [
        ['pgdata', join(tmp, 'ok', 'pgdata')],
        ['archivedir', join(tmp, 'existing')],
      ],
      () => undefined,
    );
    assert.deepEqual(r, {
      dirs: [
        { what: 'pgdata', dir: join(tmp, 'ok', 'pgdata'), existed: false },
        { what: 'archivedir', dir: join(tmp, 'existing'), existed: true },
      ],
      created: [join(tmp, 'ok', 'pgdata')],
    });
  });
});

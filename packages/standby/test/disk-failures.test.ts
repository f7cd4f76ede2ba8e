/**
 * A failing local disk, through the small interfaces of -I (PrivateDirFs) and the restore helper
 * (RestoreFs): the errno becomes a sentence with a fix, and what was made before the failure is
 * taken back (or named when it cannot be).
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { PitrError } from '@pitrtools/core/errors';
import { restoreWal } from '../src/commands/restore.js';
import { createPrivateDirs, type PrivateDirFs } from '../src/local/private-dirs.js';
import { MemRestoreFs } from './restore-fakes.js';

function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(path !== undefined ? { path } : {}) });
}

/** Directories in memory; the n-th mkdir (1-based) makes the first `partial` missing parents of its target, then throws `code`. */
class MemDirs implements PrivateDirFs {
  dirs = new Set<string>(['/']);
  mkdirs = 0;
  removeFails = new Set<string>();
  constructor(
    readonly failAt: number,
    readonly code: string,
    readonly partial = 0,
  ) {}
  async exists(path: string): Promise<boolean> {
    return this.dirs.has(path);
  }
  async makePrivateDir(dir: string): Promise<{ existed: boolean }> {
    if (this.dirs.has(dir)) return { existed: true };
    const missing: string[] = [];
    for (let d = dir; !this.dirs.has(d); d = dirname(d)) missing.unshift(d);
    if (++this.mkdirs === this.failAt) {
      for (const d of missing.slice(0, this.partial)) this.dirs.add(d);
      throw errno(this.code, 'mkdir', missing[this.partial]);
    }
    for (const d of missing) this.dirs.add(d);
    return { existed: false };
  }
  async removeTree(path: string): Promise<void> {
    if (this.removeFails.has(path)) throw errno('EBUSY', 'rmdir', path);
    for (const d of [...this.dirs]) if (d === path || d.startsWith(`${path}/`)) this.dirs.delete(d);
  }
}

const DIRS: Array<[string, string]> = [
  ['pgdata', '/srv/a/pgdata'],
  ['the directory of tablespace ts1', '/srv/b/ts1'],
  ['archivedir', '/srv/c/deep/archive'],
];

test('-I: ENOSPC on the third mkdir, after mkdir -p made a parent: everything this run made goes, the error says why and what to do', async () => {
  const fs = new MemDirs(3, 'ENOSPC', 1);
  fs.dirs.add('/srv');
  await assert.rejects(
    createPrivateDirs(DIRS, () => undefined, fs),
    (e: unknown) => {
      assert.ok(e instanceof PitrError);
      assert.equal(e.code, 'CANNOT_CREATE_DIR');
      assert.equal(e.exitCode, 1);
      assert.equal(e.message, 'cannot create archivedir /srv/c/deep/archive: no space (or quota) left on that file system (ENOSPC); nothing was left behind');
      assert.equal(e.hint, 'free space there, or choose another directory');
      return true;
    },
  );
  // /srv/c was made by the failing mkdir -p before it ran out of space: it goes too.
  assert.deepEqual([...fs.dirs].sort(), ['/', '/srv']);
});

test('-I: a directory this run made that cannot be removed again is named, not hidden behind "nothing was left behind"', async () => {
  const fs = new MemDirs(2, 'EACCES');
  fs.dirs.add('/srv');
  fs.removeFails.add('/srv/a');
  await assert.rejects(
    createPrivateDirs(DIRS, () => undefined, fs),
    (e: unknown) => {
      assert.ok(e instanceof PitrError);
      assert.match(
        e.message,
        /^cannot create the directory of tablespace ts1 \/srv\/b\/ts1: permission denied: .* \(EACCES\); could not remove what this run created: \/srv\/a \(remove it by hand\)$/,
      );
      assert.match(e.hint ?? '', /^create it as root for this user: install -d -m 0700 -o \S+ \/srv\/b\/ts1$/);
      return true;
    },
  );
});

const SEG = '000000010000000000000003';
const MiB = 1024 * 1024;

function archive(): MemRestoreFs {
  const fs = new MemRestoreFs('/arch');
  const head = Buffer.alloc(40);
  // A long page header of PostgreSQL 15: magic 0xD110, XLP_LONG_HEADER, pageaddr = segment 3, segment size 16 MiB, block size 8192.
  head.writeUInt16LE(0xd110, 0);
  head.writeUInt16LE(0x0002, 2);
  head.writeUInt32LE(1, 4);
  head.writeBigUInt64LE(3n * 16n * BigInt(MiB), 8);
  head.writeUInt32LE(16 * MiB, 32);
  head.writeUInt32LE(8192, 36);
  fs.put(`/arch/${SEG}`, { size: 16 * MiB, head });
  return fs;
}

test('--restore: ENOSPC writing %p is RESTORE_IO_FAILED in words (which side, why, the fix), nothing recorded', async () => {
  const fs = archive();
  assert.equal(
    await restoreWal({ archivedir: '/arch', pgdata: '/pg', file: SEG, dest: '/pg/pg_wal/RECOVERYXLOG' }, fs),
    'restored',
    'the fake archive is valid',
  );
  fs.restored.length = 0;
  fs.failCopyWith = 'ENOSPC';
  await assert.rejects(restoreWal({ archivedir: '/arch', pgdata: '/pg', file: SEG, dest: '/pg/pg_wal/RECOVERYXLOG' }, fs), (e: unknown) => {
    assert.ok(e instanceof PitrError);
    assert.equal(e.code, 'RESTORE_IO_FAILED');
    assert.equal(e.exitCode, 1);
    assert.equal(
      e.message,
      `cannot restore ${SEG}: writing /pg/pg_wal/RECOVERYXLOG failed: no space (or quota) left on that file system (ENOSPC); nothing was restored, PostgreSQL asks again`,
    );
    assert.equal(e.hint, 'free space there, or choose another directory');
    return true;
  });
  assert.deepEqual(fs.restored, []);
});

test('--restore: an I/O error reading the archived file names archivedir and the disk', async () => {
  const fs = archive();
  fs.failArchiveReadAt = 1;
  await assert.rejects(restoreWal({ archivedir: '/arch', pgdata: '/pg', file: SEG, dest: '/pg/pg_wal/RECOVERYXLOG' }, fs), (e: unknown) => {
    assert.ok(e instanceof PitrError);
    assert.equal(e.code, 'RESTORE_IO_FAILED');
    assert.match(e.message, new RegExp(`^cannot restore ${SEG}: reading /arch/${SEG} failed: the disk reported an I/O error \\(EIO\\)`));
    assert.match(e.hint ?? '', /check the disk/);
    return true;
  });
});

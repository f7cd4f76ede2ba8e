/**
 * The check of a directory we write in, and our own files opened without following links, on
 * real temp directories as the test user: ours and closed is fine, missing is said, and every
 * other case (writable by group or others, a link, not a directory, another user's) is refused
 * with exit 2, the path, what was found and the command that fixes it.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PitrError } from '../src/errors.js';
import { writeFileAtomic } from '../src/fs/atomic.js';
import { APPEND_NOFOLLOW, CREATE_NEW, checkOwnDir, readOwnFile, requireOwnDir, writeOwnFile } from '../src/fs/ownership.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-ownership-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (mode = 0o700): string => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  chmodSync(d, mode);
  return d;
};

const refused =
  (code: string, message: RegExp, hint: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof PitrError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.exitCode, 2);
    assert.match(e.message, message);
    assert.match(e.hint ?? '', hint);
    return true;
  };

describe('checkOwnDir', () => {
  it('accepts a directory of ours that others cannot write (0700, 0750, 0755); says false for a missing one', async () => {
    for (const mode of [0o700, 0o750, 0o755]) assert.equal(await checkOwnDir(fresh(mode), 'l_archivedir'), true);
    assert.equal(await checkOwnDir(join(root, 'nope'), 'l_archivedir'), false);
    await assert.rejects(requireOwnDir(join(root, 'nope'), 'archivedir', 'run -I'), refused('DIR_NOT_PRIVATE', /archivedir .*nope does not exist/, /run -I/));
  });

  it('refuses one writable by group or others, naming the path, the mode and chmod', async () => {
    for (const [mode, who] of [
      [0o777, 'its group and every user'],
      [0o770, 'its group'],
      [0o702, 'every user'],
      [0o1777, 'its group and every user'],
    ] as const) {
      const d = fresh(mode);
      await assert.rejects(
        checkOwnDir(d, 'l_archivedir'),
        refused(
          'DIR_NOT_PRIVATE',
          new RegExp(`refusing to write in l_archivedir ${d}: it is writable by others \\(${who}; mode ${mode.toString(8).padStart(4, '0')}\\)`),
          new RegExp(`^chmod 0700 ${d}$`),
        ),
      );
    }
  });

  it('refuses a symbolic link, even to a good directory of ours, naming the real one; and a file', async () => {
    const real = fresh();
    const link = join(root, `link${n++}`);
    symlinkSync(real, link);
    await assert.rejects(checkOwnDir(link, 'l_archivedir'), refused('DIR_NOT_PRIVATE', /is a symbolic link/, new RegExp(`name the directory itself: ${real}`)));
    const file = join(root, `file${n++}`);
    writeFileSync(file, '');
    await assert.rejects(checkOwnDir(file, 'l_archivedir'), refused('DIR_NOT_PRIVATE', /is not a directory/, /move/));
  });

  it("refuses another user's directory (root's /), with chown as the fix", async () => {
    await assert.rejects(
      checkOwnDir('/', 'l_archivedir'),
      refused('DIR_NOT_PRIVATE', /belongs to uid 0 \(mode \d{4}\), not to this user/, /^as root: chown \S+ \/ && chmod 0700 \/$/),
    );
  });
});

describe('our files never go through a symbolic link', () => {
  it('writeOwnFile / readOwnFile / append refuse a link (SYMLINK_REFUSED) and leave its target unchanged', async () => {
    const d = fresh();
    const target = join(d, 'target');
    writeFileSync(target, 'precious\n');
    const link = join(d, 'cmd_queue.log');
    symlinkSync(target, link);
    await assert.rejects(writeOwnFile(link, 'planted\n', APPEND_NOFOLLOW), refused('SYMLINK_REFUSED', /cmd_queue\.log is a symbolic link/, /rm /));
    await assert.rejects(writeOwnFile(link, 'planted\n', CREATE_NEW), { code: 'EEXIST' }); // O_EXCL: taken, even by a link
    await assert.rejects(writeOwnFile(link, 'planted\n'), refused('SYMLINK_REFUSED', /cmd_queue\.log is a symbolic link; refusing to follow it/, /rm /));
    await assert.rejects(readOwnFile(link), refused('SYMLINK_REFUSED', /symbolic link/, /rm /));
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    await writeOwnFile(join(d, 'plain'), 'a');
    await writeOwnFile(join(d, 'plain'), 'b', APPEND_NOFOLLOW);
    assert.equal(await readOwnFile(join(d, 'plain')), 'ab');
  });

  it('writeFileAtomic replaces a link at the name with our file, never writing through it', async () => {
    const d = fresh();
    const target = join(d, 'target');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, join(d, 'state'));
    await writeFileAtomic(join(d, 'state'), 'ours\n');
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.equal(readFileSync(join(d, 'state'), 'utf8'), 'ours\n');
  });
});

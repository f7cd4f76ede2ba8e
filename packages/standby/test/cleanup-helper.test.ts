/**
 * The cleanup helper (--cleanup %r) against a fake archivedir whose disk fails on the third unlink:
 * the error is thrown (PostgreSQL logs it and runs the command again at the next restartpoint), the
 * removals done before it are fsynced (a crash must not bring back what was removed), and the next
 * run removes the rest.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanupArchive } from '../src/commands/cleanup.js';
import { MemCleanupFs } from './restore-fakes.js';

const ARCH = '/arch';
const seg = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

test('the third unlink fails (EIO): thrown, the two removals before it fsynced, the next run removes the rest', async () => {
  const fs = new MemCleanupFs(ARCH, [1, 2, 3, 4, 5, 6].map(seg).concat('00000001.history'));
  fs.failUnlinkAt = 3;
  await assert.rejects(cleanupArchive({ archivedir: ARCH, restartFile: seg(5) }, fs), (e: NodeJS.ErrnoException) => e.code === 'EIO');
  assert.equal(fs.names.size, 5, 'two of the four victims removed before the error');
  assert.deepEqual(fs.synced, [[...fs.names].sort()], 'the directory was fsynced after the partial removal');
  const removed = await cleanupArchive({ archivedir: ARCH, restartFile: seg(5) }, fs);
  assert.equal(removed.length, 2);
  assert.deepEqual([...fs.names].sort(), ['00000001.history', seg(5), seg(6)]);
  assert.equal(fs.synced.length, 2);
});

test('nothing to remove: no unlink, no fsync', async () => {
  const fs = new MemCleanupFs(ARCH, [seg(5), seg(6)]);
  assert.deepEqual(await cleanupArchive({ archivedir: ARCH, restartFile: seg(5) }, fs), []);
  assert.deepEqual(fs.synced, []);
  assert.equal(fs.unlinks, 0);
});

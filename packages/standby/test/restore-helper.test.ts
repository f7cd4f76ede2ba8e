/**
 * The restore helper (--restore %f %p) against a fake disk: what reaches %p, what is counted as
 * refused and what is recorded as restored when a read fails, a copy fails half way, a segment is
 * truncated or changes while it is copied. PostgreSQL retries on any non-zero exit, so the rule is:
 * nothing at %p and nothing recorded unless the complete file is there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PitrError } from '@pitrtools/core/errors';
import { restoreWal, REJECTS_BEFORE_ALERT } from '../src/commands/restore.js';
import { LONG_HEADER_BYTES, segmentStartLsn } from '../src/recovery/wal-file-check.js';
import { REJECTED_STATE } from '../src/state-files.js';
import { MemRestoreFs, type MemFile } from './restore-fakes.js';

const MiB = 1024 * 1024;
const SYSID = 7_300_000_000_000_000_001n;
const ARCH = '/arch';
const PGDATA = '/pgdata';
const names = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003'];

/** A complete 16 MiB segment of this cluster, as far as the helper looks (size and long page header). */
function segment(name: string, size = 16 * MiB): MemFile {
  const b = Buffer.alloc(LONG_HEADER_BYTES);
  b.writeUInt16LE(0xd110, 0);
  b.writeUInt16LE(0x0002, 2); // XLP_LONG_HEADER
  b.writeUInt32LE(1, 4);
  b.writeBigUInt64LE(segmentStartLsn(name, 16 * MiB), 8);
  b.writeBigUInt64LE(SYSID, 24);
  b.writeUInt32LE(16 * MiB, 32);
  b.writeUInt32LE(8192, 36);
  return { size, head: b };
}

function archive(): MemRestoreFs {
  const fs = new MemRestoreFs(ARCH, SYSID);
  for (const n of names) fs.put(`${ARCH}/${n}`, segment(n));
  return fs;
}

const restore = (fs: MemRestoreFs, file: string) => restoreWal({ archivedir: ARCH, pgdata: PGDATA, file, dest: 'pg_wal/RECOVERYXLOG', cwd: PGDATA }, fs);
const DEST = `${PGDATA}/pg_wal/RECOVERYXLOG`;

test('a read error on the third archived file is thrown (EIO); nothing reaches %p, the first two are restored', async () => {
  const fs = archive();
  fs.failArchiveReadAt = 5; // restores 1 and 2 read twice each (inspect, copy): the 5th read is the third file's first
  assert.equal(await restore(fs, names[0]!), 'restored');
  assert.equal(await restore(fs, names[1]!), 'restored');
  await fs.remove(DEST);
  await assert.rejects(restore(fs, names[2]!), (e: PitrError) => e.code === 'RESTORE_IO_FAILED' && (e.cause as NodeJS.ErrnoException).code === 'EIO');
  assert.equal(fs.files.has(DEST), false, 'nothing at %p after a failed read');
  assert.deepEqual(fs.restored, names.slice(0, 2), 'the failed one is not recorded as restored');
  assert.equal(fs.text(`${PGDATA}/${REJECTED_STATE}`), undefined, 'a disk error is not a refusal of the file');
});

test('a copy that fails half way (ENOSPC) is thrown and recorded nowhere', async () => {
  const fs = archive();
  fs.failCopyWith = 'ENOSPC';
  await assert.rejects(restore(fs, names[0]!), (e: PitrError) => e.code === 'RESTORE_IO_FAILED' && (e.cause as NodeJS.ErrnoException).code === 'ENOSPC');
  assert.equal(fs.files.has(DEST), false);
  assert.deepEqual(fs.restored, []);
  assert.equal(await restore(fs, names[0]!), 'restored', 'the retry PostgreSQL makes succeeds');
  assert.equal(fs.files.get(DEST)?.size, 16 * MiB);
});

test('a truncated segment is refused with the reason and counted per name; the complete one later restores and clears the count', async () => {
  const fs = archive();
  fs.put(`${ARCH}/${names[1]}`, segment(names[1]!, 8 * MiB));
  for (let i = 1; i <= REJECTS_BEFORE_ALERT; i++) {
    const r = await restore(fs, names[1]!);
    assert.ok(typeof r === 'object', `refusal ${i}`);
    assert.match(r.rejected, /8388608 bytes where a segment of this cluster has 16777216/);
    assert.equal(r.times, i);
    assert.equal(fs.files.has(DEST), false, 'nothing at %p for a truncated segment');
  }
  assert.match(fs.text(`${PGDATA}/${REJECTED_STATE}`) ?? '', new RegExp(`^${names[1]} ${REJECTS_BEFORE_ALERT}\\n$`));
  fs.put(`${ARCH}/${names[1]}`, segment(names[1]!));
  assert.equal(await restore(fs, names[1]!), 'restored');
  assert.equal(fs.files.has(`${PGDATA}/${REJECTED_STATE}`), false, 'the count is gone once the file restored');
  assert.deepEqual(fs.restored, [names[1]]);
});

test('a segment that changes size while being copied is refused and its copy removed', async () => {
  const fs = archive();
  fs.shrinkOnCopy = 4096;
  const r = await restore(fs, names[0]!);
  assert.ok(typeof r === 'object');
  assert.match(r.rejected, /changed size while being copied \(16777216 -> 16773120 bytes\)/);
  assert.equal(fs.files.has(DEST), false);
  assert.deepEqual(fs.restored, []);
});

test('a file not (yet) archived, or an archivedir that is missing, is "missing"; a name PostgreSQL never asks for is BAD_WAL_NAME', async () => {
  const fs = archive();
  assert.equal(await restore(fs, '000000010000000000000009'), 'missing');
  assert.equal(await restore(fs, '00000002.history'), 'missing');
  fs.ownDirs.clear();
  assert.equal(await restore(fs, names[0]!), 'missing');
  await assert.rejects(restore(fs, '../etc/passwd'), (e: { code?: string }) => e.code === 'BAD_WAL_NAME');
  assert.equal(fs.archiveReads, 2, 'the two probes read archivedir; the refused archivedir and the bad name did not');
});

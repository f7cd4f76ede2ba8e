import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { memoryLogger } from '@pitrtools/core/log';
import { awaitStandbySourceWal, firstMissing, labelStartTimeline, neededSegments, segmentName } from '../src/basebackup/standby-source.js';
import { segmentStartLsn } from '../src/recovery/wal-file-check.js';

const MiB = 1024 * 1024;
const SYSID = 7_300_000_000_000_000_001n;

/** A whole segment `name` of a cluster with 1 MiB segments, as PostgreSQL writes its first page. */
function segment(name: string, sysid = SYSID, size = MiB): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt16LE(0x0002, 2);
  b.writeUInt32LE(parseInt(name.slice(0, 8), 16), 4);
  b.writeBigUInt64LE(segmentStartLsn(name, MiB), 8);
  b.writeBigUInt64LE(sysid, 24);
  b.writeUInt32LE(MiB, 32);
  b.writeUInt32LE(8192, 36);
  return b;
}

test('the segments from the start LSN to the byte before the stop LSN, on the timelines between', () => {
  assert.equal(segmentName(2, 256n + 3n, 16 * MiB), '000000020000000100000003');
  assert.equal(segmentName(1, 4096n + 7n, MiB), '000000010000000100000007');
  const one = neededSegments({ startLsn: '0/3000028', stopLsn: '0/3000138', startTli: 1, stopTli: 1, segSize: 16 * MiB });
  assert.deepEqual(
    one.map((s) => s.names),
    [['000000010000000000000003']],
  );
  // A stop exactly at a segment boundary needs nothing of the segment that starts there.
  const edge = neededSegments({ startLsn: '0/3000028', stopLsn: '0/5000000', startTli: 1, stopTli: 2, segSize: 16 * MiB });
  assert.deepEqual(
    edge.map((s) => s.names),
    [
      ['000000020000000000000003', '000000010000000000000003'],
      ['000000020000000000000004', '000000010000000000000004'],
    ],
  );
  assert.equal(labelStartTimeline('START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\nBACKUP FROM: standby\nSTART TIMELINE: 3\n'), 3);
  assert.throws(() => labelStartTimeline('LABEL: x\n'), /no START TIMELINE/);
});

test('a missing, truncated or foreign segment is named; whole segments of this cluster pass', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitr-unit-'));
  try {
    const w = { startLsn: '0/100028', stopLsn: '0/300100', startTli: 1, stopTli: 1, segSize: MiB, sysid: SYSID };
    writeFileSync(join(dir, '000000010000000000000001'), segment('000000010000000000000001'));
    assert.deepEqual(await firstMissing(dir, w), { name: '000000010000000000000002', problem: 'missing', have: 1, need: 3 });
    writeFileSync(join(dir, '000000010000000000000002'), segment('000000010000000000000002').subarray(0, MiB / 2));
    assert.match((await firstMissing(dir, w))!.problem, /524288 bytes where a segment of this cluster has 1048576/);
    writeFileSync(join(dir, '000000010000000000000002'), segment('000000010000000000000002', 42n));
    assert.match((await firstMissing(dir, w))!.problem, /another database system/);
    writeFileSync(join(dir, '000000010000000000000002'), segment('000000010000000000000002'));
    writeFileSync(join(dir, '000000010000000000000003'), segment('000000010000000000000003'));
    assert.equal(await firstMissing(dir, w), undefined);
    // A switch to timeline 2 during the backup: its history file is needed too.
    const tli2 = { ...w, stopTli: 2 };
    assert.deepEqual(await firstMissing(dir, tli2), { name: '00000002.history', problem: 'missing', have: 3, need: 4 });
    writeFileSync(join(dir, '00000002.history'), '1\t0/280000\tno recovery target specified\n');
    assert.equal(await firstMissing(dir, tli2), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waiting ends at the deadline with the missing segment, where it was looked for, and what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitr-unit-'));
  try {
    const log = memoryLogger(true);
    const w = { startLsn: '0/100028', stopLsn: '0/100100', startTli: 1, stopTli: 1, segSize: MiB, sysid: SYSID };
    await assert.rejects(
      awaitStandbySourceWal(dir, w, log, { timeoutMs: 300, pollMs: 50, reportMs: 100 }),
      (e: Error & { code?: string; hint?: string }) =>
        e.code === 'STANDBY_SOURCE_WAL_MISSING' && e.message.includes(`000000010000000000000001 is not in ${dir}`) && /pg_switch_wal\(\)/.test(e.hint ?? ''),
    );
    assert.ok(
      log.lines.some((l) => /waiting for the backup's WAL in archivedir: 0 of 1 there, next 000000010000000000000001/.test(l)),
      log.lines.join('\n'),
    );
    setTimeout(() => writeFileSync(join(dir, '000000010000000000000001'), segment('000000010000000000000001')), 100);
    await awaitStandbySourceWal(dir, w, log, { timeoutMs: 30_000, pollMs: 50 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

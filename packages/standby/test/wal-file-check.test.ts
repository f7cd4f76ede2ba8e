import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyProblem, LONG_HEADER_BYTES, segmentProblem, segmentStartLsn } from '../src/recovery/wal-file-check.js';

const MiB = 1024 * 1024;

/** The first bytes of a segment as PostgreSQL writes them (long page header). */
function header(o: { info?: number; pageAddr: bigint; sysid: bigint; segSize: number }): Buffer {
  const b = Buffer.alloc(LONG_HEADER_BYTES);
  b.writeUInt16LE(0xd113, 0); // xlp_magic (PostgreSQL 17's; not checked)
  b.writeUInt16LE(o.info ?? 0x0002, 2);
  b.writeUInt32LE(1, 4);
  b.writeBigUInt64LE(o.pageAddr, 8);
  b.writeBigUInt64LE(o.sysid, 24);
  b.writeUInt32LE(o.segSize, 32);
  b.writeUInt32LE(8192, 36);
  return b;
}

const NAME = '00000001000000020000003A';
const SYSID = 7_300_000_000_000_000_001n;

test('segmentStartLsn follows XLogFromFileName for 16 MiB and 1 MiB segments', () => {
  assert.equal(segmentStartLsn(NAME, 16 * MiB), (2n << 32n) + 0x3an * 16n * 1024n * 1024n);
  assert.equal(segmentStartLsn('000000010000000000000005', MiB), 5n * 1024n * 1024n);
});

test('a complete segment of this cluster passes', () => {
  const h = header({ pageAddr: segmentStartLsn(NAME, 16 * MiB), sysid: SYSID, segSize: 16 * MiB });
  assert.equal(segmentProblem(NAME, 16 * MiB, h, SYSID), undefined);
  assert.equal(segmentProblem(NAME, 16 * MiB, h, undefined), undefined, 'no pg_control to compare with');
});

test('a truncated, foreign, misplaced or garbage segment is refused with the reason', () => {
  const good = { pageAddr: segmentStartLsn(NAME, 16 * MiB), sysid: SYSID, segSize: 16 * MiB };
  assert.match(segmentProblem(NAME, 8 * MiB, header(good), SYSID)!, /8388608 bytes where a segment of this cluster has 16777216/);
  assert.match(segmentProblem(NAME, 0, Buffer.alloc(LONG_HEADER_BYTES), SYSID)!, /not a WAL segment/);
  assert.match(segmentProblem(NAME, 16 * MiB, header({ ...good, info: 0 }), SYSID)!, /no long page header/);
  assert.match(segmentProblem(NAME, 16 * MiB, header({ ...good, sysid: 42n }), SYSID)!, /another database system/);
  assert.match(segmentProblem(NAME, 16 * MiB, header({ ...good, pageAddr: 0n }), SYSID)!, /belongs at 0\/0, not at 2\/3A000000/);
  assert.match(segmentProblem(NAME, 3 * MiB, header({ ...good, segSize: 3 * MiB }), SYSID)!, /impossible segment size/);
});

test('history files: what PostgreSQL writes passes, what it cannot read or a cut-short file is refused', () => {
  assert.equal(historyProblem('00000002.history', '1\t0/3000000\tno recovery target specified\n'), undefined);
  assert.equal(historyProblem('00000003.history', '1\t0/3000000\tx\n\n2\t0/5000A0\tbefore 2026-01-01\n'), undefined);
  assert.equal(historyProblem('00000003.history', '# comment\n  1\t0/3000000\n'), undefined);
  assert.match(historyProblem('00000002.history', '')!, /empty/);
  assert.match(historyProblem('00000002.history', '1\t0/30')!, /no newline/);
  assert.match(historyProblem('00000002.history', 'garbage\n')!, /line 1 is not/);
  assert.match(historyProblem('00000002.history', '1\n')!, /line 1 is not/, 'no switchpoint: PostgreSQL says FATAL');
  assert.match(historyProblem('00000003.history', '2\t0/3000000\tx\n1\t0/4000000\tx\n')!, /must rise/);
  assert.match(historyProblem('00000002.history', '2\t0/3000000\tx\n')!, /not an ancestor of timeline 2/);
  assert.match(historyProblem('00000002.history', '# only a comment\n')!, /no parent timeline/);
});

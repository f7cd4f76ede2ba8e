import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanlyShutDown, parseControlPrefix } from '../src/pg/control-file.js';

/** The prefix of pg_control as PostgreSQL 13-18 lay it out (pg_control.h), little-endian. */
function control(o: { version?: number; state: number; checkpoint: bigint; redo: bigint; tli: number }): Buffer {
  const b = Buffer.alloc(8192);
  b.writeBigUInt64LE(7_714_003_566_622_740_279n, 0);
  b.writeUInt32LE(o.version ?? 1300, 8);
  b.writeUInt32LE(202209061, 12);
  b.writeInt32LE(o.state, 16);
  b.writeBigInt64LE(1_764_500_000n, 24);
  b.writeBigUInt64LE(o.checkpoint, 32);
  b.writeBigUInt64LE(o.redo, 40);
  b.writeUInt32LE(o.tli, 48);
  return b;
}

test('reads state, latest checkpoint, REDO and timeline (pg_controldata 15 of the same file: shut down, 0/1500710, 0/1500710, 1)', () => {
  const c = parseControlPrefix(control({ state: 1, checkpoint: 0x1500710n, redo: 0x1500710n, tli: 1 }), 'pg_control');
  assert.equal(c.state, 'shut down');
  assert.equal(c.checkpoint, 0x1500710n);
  assert.equal(c.redo, 0x1500710n);
  assert.equal(c.timeline, 1);
  assert.equal(c.systemIdentifier, 7_714_003_566_622_740_279n);
  assert.equal(cleanlyShutDown(c), true);
  assert.equal(cleanlyShutDown(parseControlPrefix(control({ state: 6, checkpoint: 1n, redo: 1n, tli: 2 }), 'x')), false);
  assert.equal(parseControlPrefix(control({ version: 1800, state: 2, checkpoint: 1n, redo: 1n, tli: 3 }), 'x').state, 'shut down in recovery');
});

test('refuses what is not a pg_control of PostgreSQL 11-18', () => {
  assert.throws(() => parseControlPrefix(control({ version: 942, state: 1, checkpoint: 1n, redo: 1n, tli: 1 }), 'f'), /pg_control_version 942/);
  assert.throws(() => parseControlPrefix(control({ state: 9, checkpoint: 1n, redo: 1n, tli: 1 }), 'f'), /unknown cluster state 9/);
  assert.throws(() => parseControlPrefix(Buffer.alloc(10), 'f'), /too short/);
});

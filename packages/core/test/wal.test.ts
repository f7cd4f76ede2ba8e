import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareWalNames, isWalName, walKind, walNameForLsn, walTimeline } from '../src/wal.js';

test('accepts exactly the names PostgreSQL archives', () => {
  assert.equal(walKind('000000010000000000000001'), 'segment');
  assert.equal(walKind('00000002.history'), 'history');
  assert.equal(walKind('000000010000000000000002.00000028.backup'), 'backup');
  assert.equal(walKind('000000010000000000000003.partial'), 'partial');
});

test('refuses made-up, hostile and malformed names', () => {
  for (const bad of [
    '',
    '.',
    '..',
    '../000000010000000000000001',
    '00000001000000000000000',
    '0000000100000000000000011',
    '00000001000000000000000g',
    '00000001000000000000000a',
    '000000010000000000000001/x',
    'x.history',
    '0000001.history',
    '000000010000000000000001.backup',
    '$(touch x)',
    "'; rm -rf /'",
    '000000010000000000000001\n',
    'pg_wal/000000010000000000000001',
    'A'.repeat(65),
  ]) {
    assert.equal(isWalName(bad), false, `should refuse ${JSON.stringify(bad)}`);
  }
});

test('WAL order puts a timeline history file between the old and the new timeline', () => {
  const names = ['000000020000000000000006', '00000002.history', '000000010000000000000005', '000000010000000000000005.partial', '000000010000000000000004'];
  assert.deepEqual([...names].sort(compareWalNames), [
    '000000010000000000000004',
    '000000010000000000000005',
    '000000010000000000000005.partial',
    '00000002.history',
    '000000020000000000000006',
  ]);
  assert.equal(walTimeline('0000000A0000000000000001'), 10);
});

test('LSN to segment name as pg_walfile_name computes it', () => {
  assert.equal(walNameForLsn('0/3000028', 1), '000000010000000000000003');
  assert.equal(walNameForLsn('1/FF000000', 2), '0000000200000001000000FF');
  assert.equal(walNameForLsn('16/B374D848', 1), '0000000100000016000000B3');
});

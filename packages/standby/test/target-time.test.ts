import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backupLabelStartTime, parseTargetTime } from '../src/recovery/target-time.js';

const utc = () => 0;
function ok(s: string) {
  const t = parseTargetTime(s, utc);
  if ('error' in t) throw new Error(t.error);
  return t;
}

test('PostgreSQL timestamp syntax with a zone: offsets, abbreviations, IANA names', () => {
  assert.equal(ok('2026-05-28 11:00:38+02').epochMs, Date.UTC(2026, 4, 28, 9, 0, 38));
  assert.equal(ok('2026-05-28T11:00:38.059389+02:00').epochMs, Date.UTC(2026, 4, 28, 9, 0, 38, 59));
  assert.equal(ok('2026-05-28 11:00:38 UTC').epochMs, Date.UTC(2026, 4, 28, 11, 0, 38));
  assert.equal(ok('2026-01-15 11:00:00 EST').epochMs, Date.UTC(2026, 0, 15, 16, 0, 0));
  assert.equal(ok('2026-07-01 12:00:00 Europe/Berlin').epochMs, Date.UTC(2026, 6, 1, 10, 0, 0));
  assert.equal(ok('2026-01-01 12:00:00 Europe/Berlin').epochMs, Date.UTC(2026, 0, 1, 11, 0, 0));
  assert.equal(ok('2026-05-28 11:00:38.059389+02').text, '2026-05-28 11:00:38.059389+02');
  assert.equal(ok('2026-05-28 11:00:38 utc').text, '2026-05-28 11:00:38 utc');
  assert.equal(ok('2026-05-28 11:00:38 utc').zoneAssumed, false);
});

test('without a zone: the given local offset, flagged as assumed', () => {
  const t = parseTargetTime('2008-05-28 11:00:38.059389', () => 120);
  assert.ok(!('error' in t));
  if ('error' in t) return;
  assert.equal(t.zoneAssumed, true);
  assert.equal(t.epochMs, Date.UTC(2008, 4, 28, 9, 0, 38, 59));
  assert.equal(ok('2026-05-28').epochMs, Date.UTC(2026, 4, 28));
});

test('bad timestamps say what is wrong and show an example', () => {
  for (const bad of ['yesterday', '2026-02-30 10:00:00', '2026-05-28 24:00:00', '2026-05-28 11:00:38 Mars/Olympus', '2026-05-28 11:00:38 +99', '28.05.2026']) {
    const t = parseTargetTime(bad, utc);
    assert.ok('error' in t, bad);
    if ('error' in t) assert.match(t.error, /e\.g\.|write it like|use a numeric offset/);
  }
});

test('backup_label START TIME', () => {
  const label = 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nSTART TIME: 2026-05-28 11:00:38 UTC\nLABEL: x\n';
  assert.deepEqual(backupLabelStartTime(label), { text: '2026-05-28 11:00:38 UTC', epochMs: Date.UTC(2026, 4, 28, 11, 0, 38) });
  assert.equal(backupLabelStartTime('START TIME: 2026-05-28 11:00:38 XYZT\n'), undefined);
  assert.equal(backupLabelStartTime('nothing'), undefined);
});

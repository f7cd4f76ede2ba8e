import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  backupLabelStart,
  backupLabelStartLsn,
  formatOffset,
  parseTargetTime,
  resolveTarget,
  serverZone,
  type TargetInput,
  type Zone,
} from '../src/recovery/target-time.js';

function parsed(s: string): TargetInput {
  const t = parseTargetTime(s);
  if ('error' in t) throw new Error(t.error);
  return t;
}
function zone(v: string): Zone {
  const z = serverZone(v);
  if ('error' in z) throw new Error(z.error);
  return z;
}
const ok = (s: string, server?: string) => resolveTarget(parsed(s), server === undefined ? undefined : zone(server));

test('a zone given with the target: numeric offsets, Z, UTC, GMT, IANA names; written with a numeric offset', () => {
  assert.equal(ok('2026-05-28 11:00:38+02').epochMs, Date.UTC(2026, 4, 28, 9, 0, 38));
  assert.equal(ok('2026-05-28 11:00:38+02').text, '2026-05-28 11:00:38+02');
  assert.equal(ok('2026-05-28T11:00:38.059389+02:00').epochMs, Date.UTC(2026, 4, 28, 9, 0, 38, 59));
  assert.equal(ok('2026-05-28T11:00:38.059389+02:00').text, '2026-05-28 11:00:38.059389+02');
  assert.equal(ok('2026-05-28 11:00:38-0530').text, '2026-05-28 11:00:38-05:30');
  assert.equal(ok('2026-05-28T11:00:38Z').text, '2026-05-28 11:00:38+00');
  assert.equal(ok('2026-05-28 11:00:38 utc').text, '2026-05-28 11:00:38+00');
  assert.equal(ok('2026-05-28 11:00:38 GMT').epochMs, Date.UTC(2026, 4, 28, 11, 0, 38));
  assert.equal(ok('2026-07-01 12:00:00 Europe/Berlin').text, '2026-07-01 12:00:00+02');
  assert.equal(ok('2026-01-01 12:00:00 Europe/Berlin').epochMs, Date.UTC(2026, 0, 1, 11, 0, 0));
  assert.equal(ok('2026-05-28 11:00:38 Etc/GMT+5').text, '2026-05-28 11:00:38-05');
  assert.equal(ok('0001-01-01 00:00:00+00').epochMs, -62135596800000);
  assert.equal(parsed('2026-05-28').wall, '2026-05-28 00:00:00');
  assert.equal(parsed('2026-05-28').zone, undefined);
});

test('no zone: read in the server timezone, never in the process TZ', () => {
  const t = ok('2008-05-28 11:00:38.059389', 'Europe/Berlin');
  assert.equal(t.zoneAssumed, true);
  assert.equal(t.zoneName, 'Europe/Berlin');
  assert.equal(t.epochMs, Date.UTC(2008, 4, 28, 9, 0, 38, 59));
  assert.equal(t.text, '2008-05-28 11:00:38.059389+02');
  assert.throws(() => resolveTarget(parsed('2026-05-28 11:00:38')), /no zone/);
  // The zone given wins over the server's.
  assert.equal(ok('2026-05-28 11:00:38+00', 'Asia/Tokyo').epochMs, Date.UTC(2026, 4, 28, 11, 0, 38));
});

test('summer-time changes: PostgreSQL takes the later instant (a skipped time in the old offset, a repeated one in the new)', () => {
  assert.equal(ok('2026-03-08 02:30', 'America/New_York').text, '2026-03-08 02:30:00-05');
  assert.equal(ok('2026-11-01 01:30', 'America/New_York').epochMs, Date.UTC(2026, 10, 1, 6, 30));
  assert.equal(ok('2026-03-29 02:30', 'Europe/Berlin').epochMs, Date.UTC(2026, 2, 29, 1, 30));
  assert.equal(ok('2026-10-25 02:30', 'Europe/Berlin').text, '2026-10-25 02:30:00+01');
});

test('the server timezone in every form postgres -C prints it', () => {
  const at = Date.UTC(2026, 4, 28);
  assert.equal(zone('+3').offsetSec(at), 3 * 3600, 'a number is hours east (SET TIME ZONE)');
  assert.equal(zone('-5.5').offsetSec(at), -5.5 * 3600);
  assert.equal(zone('UTC+3').offsetSec(at), -3 * 3600, 'POSIX: + is west');
  assert.equal(zone('<+03>-03').offsetSec(at), 3 * 3600);
  assert.equal(zone('Etc/UTC').offsetSec(at), 0);
  assert.equal(zone('EST5EDT').offsetSec(at), -4 * 3600);
  for (const bad of ['CST6CDT,M3.2.0,M11.1.0', "interval '+02:00'", 'localtime', '+16']) assert.ok('error' in serverZone(bad), bad);
});

test('bad timestamps and zones PostgreSQL would refuse or read otherwise say what is wrong and show an example', () => {
  for (const bad of [
    'yesterday',
    '2026-02-30 10:00:00',
    '2026-05-28 24:00:00',
    '0000-01-01 00:00:00+00',
    '2026-05-28 11:00:38 Mars/Olympus',
    '2026-05-28 11:00:38 +16',
    '28.05.2026',
    '2026-05-28 11:00:38 CEST',
    '2026-05-28 11:00:38 JST',
    '2026-07-01 12:00:00 CET',
    '2026-05-28 11:00:38 zulu',
  ]) {
    const t = parseTargetTime(bad);
    assert.ok('error' in t, bad);
    if ('error' in t) assert.match(t.error, /write it like '2026-05-28 11:00:38\.059389\+02'/, bad);
  }
  const abbr = parseTargetTime('2026-05-28 11:00:38 CST');
  assert.ok('error' in abbr && /abbreviations are ambiguous/.test(abbr.error));
});

test('offsets as PostgreSQL prints them', () => {
  assert.deepEqual([0, 7200, -19800, 3208, -3600].map(formatOffset), ['+00', '+02', '-05:30', '+00:53:28', '-01']);
});

test('backup_label START TIME: one instant when its zone is unambiguous, else the range of every offset; START WAL LOCATION', () => {
  const label = 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nSTART TIME: 2026-05-28 11:00:38 UTC\nLABEL: x\n';
  const at = Date.UTC(2026, 4, 28, 11, 0, 38);
  assert.deepEqual(backupLabelStart(label), { text: '2026-05-28 11:00:38 UTC', earliestMs: at, latestMs: at });
  assert.equal(backupLabelStart('START TIME: 2026-05-28 11:00:38 +03\n')?.latestMs, Date.UTC(2026, 4, 28, 8, 0, 38));
  // CST is -06 in Chicago and +08 in Shanghai: no guess, the instant lies between +14 and -12.
  assert.deepEqual(backupLabelStart('START TIME: 2026-05-28 11:00:38 CST\n'), {
    text: '2026-05-28 11:00:38 CST',
    earliestMs: at - 14 * 3600_000,
    latestMs: at + 12 * 3600_000,
  });
  assert.equal(backupLabelStart('nothing'), undefined);
  assert.equal(backupLabelStartLsn(label), '0/2000028');
});

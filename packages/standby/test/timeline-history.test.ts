import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forkVerdict, parseHistory } from '../src/recovery/timeline-history.js';

// As PostgreSQL writes them (timeline.c writeTimeLineHistory): parent, switchpoint, reason.
const TL3 = '1\t0/6000060\tno recovery target specified\n\n2\t0/8000000\tno recovery target specified\n';

test('parseHistory reads each line, skips blank and comment lines, refuses garbage', () => {
  assert.deepEqual(parseHistory(TL3), [
    { tli: 1, switchpoint: '0/6000060' },
    { tli: 2, switchpoint: '0/8000000' },
  ]);
  assert.deepEqual(parseHistory('# comment\n1\t0/3000000\tbefore 2026-11-30\n'), [{ tli: 1, switchpoint: '0/3000000' }]);
  assert.throws(() => parseHistory('one\t0/1\n'), /not a timeline history line/);
});

test('forkVerdict: up to the switchpoint of its timeline a standby may follow; past it, not', () => {
  const h = parseHistory(TL3);
  assert.deepEqual(forkVerdict({ replayLsn: '0/6000060', timelinesWithSegment: [1], checkpointTli: 1 }, 3, h), { follow: true, tli: 1 });
  const past = forkVerdict({ replayLsn: '0/6000061', timelinesWithSegment: [1], checkpointTli: 1 }, 3, h);
  assert.equal(past.follow, false);
  assert.match(!past.follow ? past.reason : '', /replayed timeline 1 up to 0\/6000061, past 0\/6000060/);
  // On timeline 2 (its segment is in pg_wal although the last restartpoint is still on 1): judged by 2's switchpoint.
  assert.deepEqual(forkVerdict({ replayLsn: '0/7000000', timelinesWithSegment: [1, 2], checkpointTli: 1 }, 3, h), { follow: true, tli: 2 });
  assert.equal(forkVerdict({ replayLsn: '0/8000100', timelinesWithSegment: [2], checkpointTli: 2 }, 3, h).follow, false);
  // Already on the target timeline: anything goes.
  assert.deepEqual(forkVerdict({ replayLsn: '0/9000000', timelinesWithSegment: [3], checkpointTli: 2 }, 3, h), { follow: true, tli: 3 });
});

test('forkVerdict: a timeline the new master never had is refused', () => {
  const v = forkVerdict({ replayLsn: '0/5000000', timelinesWithSegment: [], checkpointTli: 4 }, 3, parseHistory(TL3));
  assert.equal(v.follow, false);
  assert.match(!v.follow ? v.reason : '', /timeline 4, which is not in the history/);
});

test("forkRefusal turns PostgreSQL's start-up refusals past a fork into the reason, and nothing else", async () => {
  const { forkRefusal } = await import('../src/commands/follow.js');
  assert.match(
    forkRefusal('the local server did not start: requested timeline 3 does not contain minimum recovery point 0/80000C8 on timeline 2') ?? '',
    /^this standby has replayed timeline 2 up to 0\/80000C8 \(its minimum recovery point\), which timeline 3 of the new master does not contain/,
  );
  assert.match(forkRefusal("requested timeline 3 is not a child of this server's history") ?? '', /last checkpoint is past where timeline 3/);
  assert.equal(forkRefusal('the local server did not start: could not bind IPv4 address'), undefined);
});

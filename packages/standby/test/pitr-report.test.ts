/** -R's success line and alert when recovery replayed no transaction after the copy's start (issue 16 part 8). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pitrDoneAlert, pitrDoneLine } from '../src/recovery/pitr-report.js';

it('no transaction replayed: says so, never "committed at no transaction replayed"', () => {
  const r = { target: '2026-11-21 14:03:00+01', lastReplayed: null };
  assert.equal(
    pitrDoneLine(r),
    "Recovered to 2026-11-21 14:03:00+01: no transaction was replayed after the copy's start, so the data is as of the base backup; the server is read-write",
  );
  assert.equal(pitrDoneAlert(r), "point-in-time recovery to 2026-11-21 14:03:00+01 done: no transaction replayed after the copy's start");
  assert.doesNotMatch(pitrDoneLine({ ...r, stoppedBefore: '2026-11-21 14:04:00+01' }), /committed at no/);
});

it('a replayed transaction: its commit time, and the one recovery stopped before', () => {
  const r = { target: 'T', lastReplayed: '2026-11-21 14:02:59.1+01', stoppedBefore: '2026-11-21 14:03:01+01' };
  assert.equal(
    pitrDoneLine(r),
    'Recovered to T: last replayed transaction committed at 2026-11-21 14:02:59.1+01 (stopped before a transaction committed at 2026-11-21 14:03:01+01); the server is read-write',
  );
  assert.equal(
    pitrDoneAlert(r),
    'point-in-time recovery to T done: last replayed transaction committed at 2026-11-21 14:02:59.1+01, stopped before one committed at 2026-11-21 14:03:01+01',
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateCheck, renderNagios, type CheckThresholds } from '../src/recovery/check-report.js';
import { lastReplicationError, nextCheckState, parseCheckState } from '../src/recovery/check-state.js';

const t: CheckThresholds = {
  warnBytes: 16 << 20,
  critBytes: 256 << 20,
  warnSeconds: 300,
  critSeconds: 1800,
  stuck: { warn: 300, crit: 900 },
  receiver: { warn: 0, crit: 300 },
  master: { warn: 0, crit: 300 },
  restored: { warn: null, crit: null },
  allowPrimary: false,
};
const standby = { running: true, inRecovery: true, notes: [] as string[] };

test('conditions get a start time, keep it while they last, and lose it when they end', () => {
  const s1 = nextCheckState({}, { now: 1000, replayLsn: '0/5000000', receiverStreaming: false, masterReachable: false });
  assert.deepEqual(s1, { replayLsn: '0/5000000', replaySince: 1000, receiverDownSince: 1000, masterUnreachableSince: 1000 });
  const s2 = nextCheckState(s1, { now: 9000, replayLsn: '0/5000000', receiverStreaming: false, masterReachable: false });
  assert.deepEqual(s2, s1, 'still the same: the start stays');
  const s3 = nextCheckState(s2, { now: 12000, replayLsn: '0/6000000', receiverStreaming: true, masterReachable: true });
  assert.deepEqual(s3, { replayLsn: '0/6000000', replaySince: 12000, receiverDownSince: undefined, masterUnreachableSince: undefined });
  assert.deepEqual(parseCheckState(JSON.stringify(s1)), s1);
  assert.deepEqual(parseCheckState('garbage'), {});
  assert.deepEqual(parseCheckState(undefined), {});
});

test('what fooled the old check is never OK: receiver down, master unreachable, replay stuck, a removed segment', () => {
  // Replay equal to what was received, but the receiver is cut off: WARNING at once, CRITICAL past its limit.
  const cut = evaluateCheck({ ...standby, receiver: { status: 'stopped', downSeconds: 20 }, lagBytes: 0, lagSource: 'master' }, t);
  assert.equal(cut.status, 'WARNING');
  assert.match(cut.text, /WAL receiver stopped for 20 s/);
  assert.equal(evaluateCheck({ ...standby, receiver: { status: 'waiting', downSeconds: 301 } }, t).status, 'CRITICAL');
  const gone = evaluateCheck({ ...standby, masterUnreachable: { reason: 'connection refused', seconds: 0 } }, t);
  assert.equal(gone.status, 'WARNING');
  assert.match(gone.text, /master unreachable for 0 s \(connection refused\): lag unknown/);
  assert.equal(evaluateCheck({ ...standby, masterUnreachable: { reason: 'x', seconds: 300 } }, t).status, 'CRITICAL');
  assert.equal(evaluateCheck({ ...standby, lagBytes: 20 << 20, replayStuckSeconds: 301 }, t).status, 'WARNING');
  assert.equal(evaluateCheck({ ...standby, lagBytes: 1 << 20, replayStuckSeconds: 901 }, t).status, 'CRITICAL');
  // Paused on purpose: not "stuck" (no CRITICAL from standing still), but never OK while it lasts.
  const paused = evaluateCheck({ ...standby, lagBytes: 1 << 20, replayStuckSeconds: 901, replayPaused: true, replayPauseState: 'paused' }, t);
  assert.equal(paused.status, 'WARNING');
  assert.match(paused.text, /replay paused \(-A pause\): WAL arrives but is not applied, the lag grows until cmd_standby -A resume/);
  assert.equal(evaluateCheck({ ...standby, lagBytes: 300 << 20, replayPaused: true }, t).status, 'CRITICAL', 'the lag limits still count');
  const removed = evaluateCheck(
    {
      ...standby,
      receiver: { status: 'stopped', downSeconds: 1 },
      removedSegment: '00000001000000000000000A',
      replicationError: 'FATAL:  could not receive data from WAL stream: ERROR:  requested WAL segment 00000001000000000000000A has already been removed',
    },
    t,
  );
  assert.equal(removed.status, 'CRITICAL');
  assert.match(
    renderNagios(removed),
    /the master removed 00000001000000000000000A, which this standby still needs.*\nlast replication error in the server log: FATAL: {2}could not receive/s,
  );
  assert.equal(evaluateCheck({ ...standby, receiver: { status: 'streaming' }, lagBytes: 0, receiveLagBytes: 0 }, t).status, 'OK');
});

test('the newest replication error in a server log tail, as PostgreSQL 14-18 word it', () => {
  const log = [
    '2026-11-30 14:00:00.000 UTC [1] LOG:  started streaming WAL from primary at 0/3000000 on timeline 1',
    '2026-11-30 14:01:00.000 UTC [2] FATAL:  could not connect to the primary server: connection to server at "127.0.0.1", port 5433 failed: Connection refused',
    '2026-11-30 14:02:00.000 UTC [3] FATAL:  could not receive data from WAL stream: ERROR:  requested WAL segment 00000001000000000000000A has already been removed',
    '2026-11-30 14:02:01.000 UTC [4] LOG:  waiting for WAL to become available at 0/A000018',
  ].join('\n');
  const e = lastReplicationError(log)!;
  assert.equal(e.removedSegment, '00000001000000000000000A');
  assert.match(e.line, /^FATAL: {2}could not receive data from WAL stream/);
  assert.match(lastReplicationError(log.split('\n').slice(0, 2).join('\n'))!.line, /could not connect to the primary server/);
  assert.equal(lastReplicationError(log.split('\n')[0]!), undefined);
});

/**
 * The delivery rules with fakes: WAL order, the drain budget, one alert per episode, the size
 * thresholds, queue_max_bytes, conflicts, and failures injected at exact points.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deliverSegment, drainQueue } from '../src/archive/deliver.js';
import { exitCodeFor, seg, world } from './fakes.js';

const events = (alerts: Array<{ level: string; event: string }>): string[] => alerts.map((a) => `${a.level}:${a.event}`);

describe('deliverSegment', () => {
  it('ships straight to a reachable slave with an empty queue; no alert', async () => {
    const w = world();
    const o = await deliverSegment(w.ctx, w.wal(1));
    assert.deepEqual(o, { kind: 'delivered', status: 'created' });
    assert.equal(w.slave.files.get(seg(1)), 'wal-1');
    assert.deepEqual(w.alerts, []);
    assert.deepEqual((await w.store.scan('s1')).files, []);
    assert.equal(exitCodeFor([o]), 0);
  });

  it('the same bytes already there is success (PostgreSQL re-sends after a crash)', async () => {
    const w = world();
    w.slave.files.set(seg(1), 'wal-1');
    assert.deepEqual(await deliverSegment(w.ctx, w.wal(1)), { kind: 'delivered', status: 'identical' });
  });

  it('unreachable: every segment is queued, ONE critical alert for the outage, a repeat after queue_alert_repeat', async () => {
    const w = world({ alertRepeatMs: 60_000 });
    w.slave.up = false;
    for (let i = 1; i <= 3; i++) {
      const o = await deliverSegment(w.ctx, w.wal(i));
      assert.equal(o.kind, 'queued');
      assert.equal(exitCodeFor([o]), 0, 'queued is safe: exit 0');
      w.fs.now += 10_000;
    }
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable']);
    assert.match(w.alerts[0]!.message, /slave s1 \(pg@s1:22\) unreachable: connection to 127\.0\.0\.1:22 refused/);
    assert.deepEqual(
      (await w.store.scan('s1')).files.map((f) => f.name),
      [seg(1), seg(2), seg(3)],
    );
    w.fs.now += 40_000; // 70 s into the outage
    await deliverSegment(w.ctx, w.wal(4));
    await deliverSegment(w.ctx, w.wal(5));
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'CRITICAL:slave_still_unreachable']);
    w.fs.now += 60_000;
    await deliverSegment(w.ctx, w.wal(6));
    assert.equal(w.alerts.length, 3, 'one repeat per period');
  });

  it('back again: the queue goes first, in WAL order, then the new segment; notify_ok once with the count', async () => {
    const w = world();
    w.slave.up = false;
    for (const n of [3, 1, 2]) await deliverSegment(w.ctx, w.wal(n)); // queued out of order on purpose
    w.slave.up = true;
    const o = await deliverSegment(w.ctx, w.wal(4));
    assert.deepEqual(o, { kind: 'delivered', status: 'created' });
    assert.deepEqual(w.slave.uploads, [seg(1), seg(2), seg(3), seg(4)]);
    assert.deepEqual((await w.store.scan('s1')).files, []);
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'OK:slave_recovered']);
    assert.match(w.alerts[1]!.message, /slave s1 \(pg@s1:22\) recovered, 3 segments delivered/);
    await deliverSegment(w.ctx, w.wal(5));
    assert.equal(w.alerts.length, 2, 'no second notify_ok');
  });

  it('the drain budget: what is left stays queued and the new segment joins it behind, keeping WAL order', async () => {
    const w = world({ drainBudgetMs: 2_500 });
    w.slave.up = false;
    for (let i = 1; i <= 5; i++) await deliverSegment(w.ctx, w.wal(i));
    w.slave.up = true;
    w.slave.onUpload = () => {
      w.fs.now += 1_000;
    }; // each upload takes a second
    const o = await deliverSegment(w.ctx, w.wal(6));
    assert.equal(o.kind, 'queued');
    assert.deepEqual(w.slave.uploads, [seg(1), seg(2), seg(3)]);
    assert.deepEqual(
      (await w.store.scan('s1')).files.map((f) => f.name),
      [seg(4), seg(5), seg(6)],
    );
    assert.equal(w.alerts.filter((a) => a.event === 'slave_unreachable').length, 1, 'a budget stop is no new outage');
    const r = await drainQueue(w.ctx, await w.store.scan('s1'), Number.POSITIVE_INFINITY);
    assert.equal(r.delivered, 3);
    assert.deepEqual(w.slave.uploads, [seg(1), seg(2), seg(3), seg(4), seg(5), seg(6)]);
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'OK:slave_recovered']);
  });

  it('no drain budget (as in cmd_queue): new segments join the queue at once; failing drains repeat the alert; recovery counts them all', async () => {
    const w = world({ drainBudgetMs: 0, alertRepeatMs: 60_000 });
    w.slave.up = false;
    for (let i = 1; i <= 4; i++) assert.equal((await deliverSegment(w.ctx, w.wal(i))).kind, 'queued');
    assert.deepEqual(w.slave.uploads, [], 'nothing tried while older segments wait');
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable']);
    w.fs.now += 61_000;
    assert.equal((await drainQueue(w.ctx, await w.store.scan('s1'), Number.POSITIVE_INFINITY)).stopped?.why, 'unreachable');
    assert.equal((await drainQueue(w.ctx, await w.store.scan('s1'), Number.POSITIVE_INFINITY)).remaining.length, 4);
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'CRITICAL:slave_still_unreachable']);
    assert.match(w.alerts[1]!.message, /still unreachable after 1 min: .*; 4 segments \(20 B\) wait in \/q\/s1/);
    w.slave.up = true;
    await drainQueue(w.ctx, await w.store.scan('s1'), Number.POSITIVE_INFINITY);
    assert.deepEqual(w.slave.uploads, [seg(1), seg(2), seg(3), seg(4)]);
    assert.match(w.alerts[2]!.message, /recovered, 4 segments delivered/);
  });

  it('a pipelining link (compress): several uploads in flight, removed from the queue in WAL order, a failure stops at its own file', async () => {
    const w = world({ drainBudgetMs: 0 });
    w.slave.up = false;
    for (let i = 1; i <= 6; i++) await deliverSegment(w.ctx, w.wal(i));
    w.slave.up = true;
    w.slave.ahead = 3;
    w.slave.dropAt = 4; // the 4th upload started (seg 4) fails; 5 and 6 are in flight behind it
    const r = await drainQueue(w.ctx, await w.store.scan('s1'), Number.POSITIVE_INFINITY);
    assert.ok(w.slave.maxActive >= 2, `uploads in flight at once: ${w.slave.maxActive}`);
    assert.equal(r.delivered, 3);
    assert.equal(r.stopped?.why, 'unreachable');
    assert.deepEqual(
      r.remaining.map((f) => f.name),
      [seg(4), seg(5), seg(6)],
    );
    assert.deepEqual(
      (await w.store.scan('s1')).files.map((f) => f.name),
      [seg(4), seg(5), seg(6)],
      'only files whose own upload answered left the queue',
    );
    w.slave.dropAt = undefined;
    const again = await drainQueue(w.ctx, await w.store.scan('s1'), Number.POSITIVE_INFINITY);
    assert.equal(again.delivered, 3, 'those that arrived anyway are answered identical and leave the queue');
    assert.deepEqual((await w.store.scan('s1')).files, []);
  });

  it('a connection that drops during the drain: the rest stays queued in order, the new one behind it', async () => {
    const w = world();
    w.slave.up = false;
    for (let i = 1; i <= 4; i++) await deliverSegment(w.ctx, w.wal(i));
    w.slave.up = true;
    w.slave.dropAt = 3; // the third upload is cut off
    const o = await deliverSegment(w.ctx, w.wal(5));
    assert.equal(o.kind, 'queued');
    assert.deepEqual(w.slave.uploads, [seg(1), seg(2), `${seg(3)}!`]);
    assert.deepEqual(
      (await w.store.scan('s1')).files.map((f) => f.name),
      [seg(3), seg(4), seg(5)],
    );
    assert.ok(!w.slave.files.has(seg(3)));
  });

  it('a different file on the slave: conflict (exit 4), slave file untouched, one alert per name however often PostgreSQL retries', async () => {
    const w = world();
    w.slave.files.set(seg(1), 'someone else');
    for (let i = 0; i < 3; i++) {
      const o = await deliverSegment(w.ctx, w.wal(1));
      assert.deepEqual(o, { kind: 'conflict', where: 'slave' });
      assert.equal(exitCodeFor([o]), 4);
    }
    assert.equal(w.slave.files.get(seg(1)), 'someone else');
    assert.deepEqual(events(w.alerts), ['CRITICAL:archive_conflict']);
    assert.match(w.alerts[0]!.message, new RegExp(`slave s1 \\(pg@s1:22\\) already has a different ${seg(1)} in /archive; it was NOT overwritten`));
    assert.equal(w.alerts[0]!.segment, seg(1));
    // The operator moves the file away: archiving resumes and the episode ends, so a later conflict alerts again.
    w.slave.files.delete(seg(1));
    assert.equal((await deliverSegment(w.ctx, w.wal(1))).kind, 'delivered');
    w.slave.files.set(seg(2), 'other');
    await deliverSegment(w.ctx, w.wal(2));
    w.slave.files.set(seg(1), 'other again');
    await deliverSegment(w.ctx, w.wal(1, 'wal-1b'));
    assert.deepEqual(events(w.alerts), ['CRITICAL:archive_conflict', 'CRITICAL:archive_conflict', 'CRITICAL:archive_conflict']);
  });

  it('a different file in the queue under the same name: conflict, queue untouched', async () => {
    const w = world();
    w.slave.up = false;
    await deliverSegment(w.ctx, w.wal(1, 'first'));
    const o = await deliverSegment(w.ctx, w.wal(1, 'second'));
    assert.deepEqual(o, { kind: 'conflict', where: 'queue' });
    assert.equal(w.fs.get(w.store.path('s1', seg(1))), 'first');
  });

  it('queue_warn_bytes and queue_critical_bytes alert once per upward crossing and re-arm after the drain', async () => {
    const w = world({ warnBytes: 10, criticalBytes: 20 }); // each segment is 5 bytes ('wal-N')
    w.slave.up = false;
    for (let i = 1; i <= 6; i++) await deliverSegment(w.ctx, w.wal(i));
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'WARNING:queue_over_warn', 'CRITICAL:queue_over_critical']);
    assert.match(w.alerts[1]!.message, /holds 10 B in 2 files, reached queue_warn_bytes \(10 B\)/);
    w.slave.up = true;
    await deliverSegment(w.ctx, w.wal(7));
    w.slave.up = false;
    for (let i = 8; i <= 10; i++) await deliverSegment(w.ctx, w.wal(i));
    assert.deepEqual(events(w.alerts).slice(3), ['OK:slave_recovered', 'CRITICAL:slave_unreachable', 'WARNING:queue_over_warn']);
  });

  it('queue_critical_bytes fires when the queue reaches it (>=), also when the next segment drops the queue', async () => {
    const w = world({ criticalBytes: 10, maxBytes: 12 }); // 5-byte segments: 5, 10 (critical), then 15 would pass the max
    w.slave.up = false;
    for (let i = 1; i <= 3; i++) await deliverSegment(w.ctx, w.wal(i));
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'CRITICAL:queue_over_critical', 'CRITICAL:slave_dropped']);
    assert.match(w.alerts[1]!.message, /holds 10 B in 2 files, reached queue_critical_bytes \(10 B\)/);
  });

  it('queue_max_bytes: marker first, queue deleted, one alert; the slave is then detached and never queued for', async () => {
    const w = world({ maxBytes: 12 });
    w.slave.up = false;
    assert.equal((await deliverSegment(w.ctx, w.wal(1))).kind, 'queued');
    assert.equal((await deliverSegment(w.ctx, w.wal(2))).kind, 'queued');
    // Two runs at once (cmd_queue and cmd_archiver) both find the limit passed: one drop, one alert.
    const [o, other] = await Promise.all([deliverSegment(w.ctx, w.wal(3)), deliverSegment(w.ctx, w.wal(3))]);
    assert.deepEqual(o, { kind: 'dropped' });
    assert.deepEqual(other, { kind: 'dropped' });
    assert.equal(exitCodeFor([o]), 0, "the master's disk survives and PostgreSQL goes on");
    const scan = await w.store.scan('s1');
    assert.deepEqual(scan.files, []);
    assert.match(scan.detached ?? '', /queue_max_bytes \(12 B\): 10 B already queued/);
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'CRITICAL:slave_dropped']);
    assert.match(w.alerts[1]!.message, /slave s1 dropped: .*2 queued segments deleted.*cmd_archiver -C \/etc\/a\.ini --reset-slave s1, then cmd_standby -B/);
    assert.ok(!scan.claims.has('.outage'), 'the outage episode ended with the drop');
    for (let i = 4; i <= 6; i++) assert.deepEqual(await deliverSegment(w.ctx, w.wal(i)), { kind: 'detached', delivered: false });
    assert.deepEqual((await w.store.scan('s1')).files, [], 'nothing queued while detached');
    assert.equal(w.alerts.length, 2);
    w.slave.up = true; // best effort while detached
    assert.deepEqual(await deliverSegment(w.ctx, w.wal(7)), { kind: 'detached', delivered: true });
    assert.ok(await w.store.resetMarker('s1'));
    w.slave.up = false;
    assert.equal((await deliverSegment(w.ctx, w.wal(8))).kind, 'queued', 'reattached: queued again');
  });

  it('the third queue write fails: that segment is NOT safe (exit 1); the two before it are', async () => {
    const w = world();
    w.slave.up = false;
    w.store.failEnqueueAt = 3;
    assert.equal((await deliverSegment(w.ctx, w.wal(1))).kind, 'queued');
    assert.equal((await deliverSegment(w.ctx, w.wal(2))).kind, 'queued');
    const o = await deliverSegment(w.ctx, w.wal(3));
    assert.equal(o.kind, 'failed');
    assert.match((o as { reason: string }).reason, /cannot queue .* disk full \(injected\)/);
    assert.equal(exitCodeFor([o]), 1);
    assert.equal(exitCodeFor([{ kind: 'delivered', status: 'created' }, o, { kind: 'conflict', where: 'slave' }]), 4);
    assert.deepEqual(
      (await w.store.scan('s1')).files.map((f) => f.name),
      [seg(1), seg(2)],
    );
  });

  it('a queued file delivered by another process meanwhile (gone from the queue) is skipped', async () => {
    const w = world();
    w.slave.up = false;
    for (let i = 1; i <= 3; i++) await deliverSegment(w.ctx, w.wal(i));
    const scan = await w.store.scan('s1');
    await w.store.remove('s1', seg(2));
    w.slave.files.set(seg(2), 'wal-2');
    w.slave.up = true;
    const r = await drainQueue(w.ctx, scan, Number.POSITIVE_INFINITY);
    assert.deepEqual(r.remaining, []);
    assert.deepEqual(w.slave.uploads, [seg(1), seg(3)]);
  });
});

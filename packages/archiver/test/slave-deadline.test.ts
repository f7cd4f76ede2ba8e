/**
 * slave_deadline with fakes: a slave whose upload never finishes costs one run the deadline, not
 * more; the segment is queued; the work left behind raises no alert when the run cuts it, and
 * removes the queued copy when it completes after all (cmd_queue).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PitrError } from '@pitrtools/core/errors';
import { deliverSegment, drainQueue, SLOW_CLAIM } from '../src/archive/deliver.js';
import { deliverWithin } from '../src/archive/slave-deadline.js';
import type { PlaceStatus, SlaveLink } from '../src/archive/ports.js';
import { seg, world } from './fakes.js';

/** A link whose uploads hang until the test settles them (a slave that stays alive but crawls). */
function crawlingLink() {
  const pending: Array<{ name: string; resolve(s: PlaceStatus): void; reject(e: unknown): void }> = [];
  const link: SlaveLink = {
    upload: (_src, name) =>
      new Promise<PlaceStatus>((resolve, reject) => {
        pending.push({ name, resolve, reject });
      }),
    stat: async () => undefined,
  };
  return { provider: { get: async () => link }, pending };
}

const until = async (cond: () => boolean | Promise<boolean>): Promise<void> => {
  const end = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('deliverWithin (slave_deadline)', () => {
  it('a run that is about to exit: queued at the deadline, the link cut, the cut upload raises no alert and writes nothing', async () => {
    const w = world();
    const slow = crawlingLink();
    let cuts = 0;
    const t0 = Date.now();
    const o = await deliverWithin({ ...w.ctx, link: slow.provider }, w.wal(1), {
      deadlineMs: 200,
      abandon: () => {
        cuts++;
      },
    });
    assert.ok(Date.now() - t0 < 15_000, 'the run does not wait for the crawling upload');
    assert.equal(o.kind, 'queued');
    assert.ok((o as { reason: string }).reason.includes(`too slow: ${seg(1)} not delivered within slave_deadline (0.2 s)`), JSON.stringify(o));
    assert.equal(cuts, 1);
    const scan = await w.store.scan('s1');
    assert.deepEqual(
      scan.files.map((f) => f.name),
      [seg(1)],
    );
    assert.ok(scan.claims.has(SLOW_CLAIM), 'the next runs queue behind instead of draining');
    // The cut makes the upload fail as a disconnect would: not an outage to alert, and the queue keeps its copy.
    slow.pending[0]!.reject(new PitrError('SSH_DISCONNECTED', 'cut'));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(w.alerts, []);
    assert.deepEqual(
      (await w.store.scan('s1')).files.map((f) => f.name),
      [seg(1)],
    );
  });

  it('cmd_queue: the upload goes on past the deadline; when it completes the queued copy goes', async () => {
    const w = world();
    const slow = crawlingLink();
    const o = await deliverWithin({ ...w.ctx, link: slow.provider }, w.wal(1), { deadlineMs: 100 });
    assert.equal(o.kind, 'queued');
    assert.deepEqual(
      (await w.store.scan('s1')).files.map((f) => f.name),
      [seg(1)],
    );
    slow.pending[0]!.resolve('created');
    await until(async () => (await w.store.scan('s1')).files.length === 0);
    assert.deepEqual(w.alerts, []);
  });

  it('within the deadline nothing changes: delivered, nothing queued', async () => {
    const w = world();
    const o = await deliverWithin(w.ctx, w.wal(1), { deadlineMs: 10_000, abandon: () => assert.fail('not late') });
    assert.deepEqual(o, { kind: 'delivered', status: 'created' });
    assert.equal(w.slave.files.get(seg(1)), 'wal-1');
  });

  it('while the slave is marked slow, a run queues behind its queue at once; the drain that empties it clears the mark', async () => {
    const w = world();
    await w.store.enqueue('s1', w.wal(1).path, seg(1));
    await w.store.claim('s1', SLOW_CLAIM, '{}\n');
    const o = await deliverSegment(w.ctx, w.wal(2));
    assert.equal(o.kind, 'queued');
    assert.deepEqual(w.slave.uploads, [], 'no upload from the run: cmd_queue ships the queue');
    const scan = await w.store.scan('s1');
    assert.deepEqual(
      scan.files.map((f) => f.name),
      [seg(1), seg(2)],
    );
    const r = await drainQueue(w.ctx, scan, Number.POSITIVE_INFINITY);
    assert.equal(r.delivered, 2);
    assert.ok(!(await w.store.scan('s1')).claims.has(SLOW_CLAIM));
  });
});

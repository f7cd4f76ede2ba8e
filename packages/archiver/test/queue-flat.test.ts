/**
 * O(1) work per segment whatever the queue holds (issue 17): the calls deliverSegment makes
 * through the QueueStore interface, and the system calls the real store makes, are the same with
 * 10 and with 10 000 queued files; the queue's summary is repaired after a crash or a manual change.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, promises as fsp, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fsQueueStore } from '../src/adapters/fs-queue-store.js';
import { LOCK_FILE, SUMMARY_FILE } from '../src/adapters/queue-summary.js';
import { OUTAGE_HEAD_BYTES } from '../src/archive/claims.js';
import { deliverSegment } from '../src/archive/deliver.js';
import type { QueueStore, SlaveLink } from '../src/archive/ports.js';
import { SlaveWorker } from '../src/daemon/slave-worker.js';
import type { SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import { seg, world } from './fakes.js';

/** Wraps a store: counts the calls per method and the queued files each call handed back. */
function counting(store: QueueStore): { store: QueueStore; calls: Map<string, number>; filesSeen: () => number; reset(): void } {
  const calls = new Map<string, number>();
  // Queued files handed back by scan, and bytes by read (a claim file that grows with the queue counts too).
  let seen = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      // path() is not I/O: it is neither counted nor made async.
      if (prop === 'path') return (v as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (prop === 'scan') seen += (r as { files: unknown[] }).files.length;
        if (prop === 'read' && typeof r === 'string') seen += r.length;
        return r;
      };
    },
  });
  return {
    store: wrapped,
    calls,
    filesSeen: () => seen,
    reset: () => {
      calls.clear();
      seen = 0;
    },
  };
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('per-segment work through the QueueStore interface', () => {
  // A slave down with `queued` files waiting: what one more segment costs.
  async function oneSegmentWithSlaveDown(queued: number): Promise<{ calls: Map<string, number>; filesSeen: number }> {
    const w = world();
    w.slave.up = false;
    for (let i = 1; i <= queued; i++) w.fs.put(w.store.path('s1', seg(i)), `wal-${i}`);
    // The outage that queued them: `.outage` holds its start, then one line per queued segment.
    const names = Array.from({ length: queued }, (_, i) => `${seg(i + 1)}\n`).join('');
    w.fs.put(w.store.path('s1', '.outage'), `${JSON.stringify({ since: w.fs.now - 60_000, reason: 'refused' })}\n${names}`);
    const c = counting(w.store);
    const ctx = { ...w.ctx, store: c.store };
    assert.equal((await deliverSegment(ctx, w.wal(queued + 1))).kind, 'queued'); // the outage starts: claims are made
    c.reset();
    const o = await deliverSegment(ctx, w.wal(queued + 2));
    assert.equal(o.kind, 'queued');
    assert.ok(w.fs.get(w.store.path('s1', seg(queued + 2))) !== undefined, 'the segment is in the queue');
    return { calls: new Map(c.calls), filesSeen: c.filesSeen() };
  }

  it('with a slave down, a segment costs the same calls with 10 and with 10 000 queued files, and never lists the queue', async () => {
    const small = await oneSegmentWithSlaveDown(10);
    const big = await oneSegmentWithSlaveDown(10_000);
    assert.equal(big.calls.get('scan') ?? 0, 0, `the queue was listed: ${JSON.stringify([...big.calls])}`);
    assert.ok(big.filesSeen <= OUTAGE_HEAD_BYTES, `bounded bytes of claim files read, whatever the outage queued: ${big.filesSeen}`);
    assert.deepEqual([...big.calls].sort(), [...small.calls].sort(), 'the same calls whatever the queue holds');
    assert.ok(total(big.calls) <= 8, `a bounded number of store calls per segment: ${JSON.stringify([...big.calls])}`);
  });

  it("cmd_queue's drain with the slave down does not list the queue either; the outage is still alerted", async () => {
    const w = world();
    w.slave.up = false;
    for (let i = 1; i <= 10_000; i++) w.fs.put(w.store.path('s1', seg(i)), `wal-${i}`);
    const c = counting(w.store);
    // The worker's own connection is replaced by the fake slave (down): what is tested is its drain.
    class DownWorker extends SlaveWorker {
      override async get(): Promise<SlaveLink> {
        return w.slave.get();
      }
    }
    const worker = new DownWorker({ entry: 's1', name: 's1', r_archivedir: '/archive', compress: { algo: 'none', level: 0 } } as SlaveTarget, {
      lanes: 1,
      inFlight: 2,
      retryMs: 60_000,
      promptRetryMs: 3000,
      sshDebug: false,
      log: w.log,
      onConnected: () => undefined,
    });
    worker.ctx = { ...w.ctx, store: c.store, link: worker };
    const r = await worker.drain();
    assert.equal(r.stopped?.why, 'unreachable');
    assert.equal(c.calls.get('scan') ?? 0, 0, `the queue was listed: ${JSON.stringify([...c.calls])}`);
    assert.ok(total(c.calls) <= 4, `bounded: ${JSON.stringify([...c.calls])}`);
    assert.deepEqual(
      w.alerts.map((a) => a.event),
      ['slave_unreachable'],
    );
    assert.equal(w.store.entriesOf('s1').filter((n) => n.startsWith('0')).length, 10_000, 'every file still queued');
  });

  it('back up: 10 000 queued files drain in WAL order with one listing, a bounded number of calls per file', async () => {
    const w = world();
    const n = 10_000;
    for (let i = n; i >= 1; i--) w.fs.put(w.store.path('s1', seg(i)), `wal-${i}`);
    const c = counting(w.store);
    const o = await deliverSegment({ ...w.ctx, store: c.store }, w.wal(n + 1));
    assert.deepEqual(o, { kind: 'delivered', status: 'created' });
    assert.deepEqual(
      w.slave.uploads,
      Array.from({ length: n + 1 }, (_, i) => seg(i + 1)),
      'WAL order, the new one last',
    );
    assert.equal(c.calls.get('scan'), 1, 'listed once for the whole drain');
    assert.ok(total(c.calls) <= 2 * n + 10, `calls per delivered file stay bounded: ${JSON.stringify([...c.calls])}`);
  });
});

describe('the real store: system calls per segment and the summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitr-queue-flat-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'segment');
  writeFileSync(src, 'x'.repeat(100));

  // Counts every call into node:fs/promises while `fn` runs (the store and core/fs/atomic use it).
  async function syscalls(fn: () => Promise<unknown>): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const saved = new Map<string, unknown>();
    const api = fsp as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(api)) {
      if (typeof v !== 'function' || k === 'constants') continue;
      saved.set(k, v);
      api[k] = (...a: unknown[]) => {
        counts.set(k, (counts.get(k) ?? 0) + 1);
        return (v as (...x: unknown[]) => unknown)(...a);
      };
    }
    try {
      await fn();
    } finally {
      for (const [k, v] of saved) api[k] = v;
    }
    return counts;
  }

  function queueWith(name: string, n: number): { root: string; store: QueueStore } {
    const root = join(dir, name);
    mkdirSync(join(root, 's1'), { recursive: true, mode: 0o700 });
    for (let i = 1; i <= n; i++) writeFileSync(join(root, 's1', seg(i)), 'y'.repeat(10));
    return { root, store: fsQueueStore(root) };
  }

  it('look, enqueue and remove make the same system calls with 10 and with 10 000 files queued, and none lists the queue', async () => {
    const perSegment = async (n: number): Promise<Map<string, number>> => {
      const { store } = queueWith(`q${n}`, n);
      assert.deepEqual(await store.look('s1', []), { count: n, bytes: 10 * n, detached: undefined, claims: new Set() }, 'first look builds the summary');
      return syscalls(async () => {
        await store.look('s1', ['.outage', '.over-warn']);
        assert.equal(await store.enqueue('s1', src, seg(n + 1)), 'created');
        await store.remove('s1', seg(1));
        assert.deepEqual(await store.look('s1', []), { count: n, bytes: 10 * (n - 1) + 100, detached: undefined, claims: new Set() });
      });
    };
    const small = await perSegment(10);
    const big = await perSegment(10_000);
    assert.equal(big.get('readdir') ?? 0, 0, `the queue was listed: ${JSON.stringify([...big])}`);
    assert.deepEqual([...big].sort(), [...small].sort(), 'the same system calls whatever the queue holds');
    assert.ok(total(big) <= 60, `bounded: ${JSON.stringify([...big])}`);
  });

  it('a missing or damaged summary is rebuilt from the files', async () => {
    const { root, store } = queueWith('rebuild', 5);
    assert.equal((await store.look('s1', [])).count, 5);
    unlinkSync(join(root, 's1', SUMMARY_FILE));
    assert.equal((await store.look('s1', [])).count, 5);
    writeFileSync(join(root, 's1', SUMMARY_FILE), '{"count": -3');
    assert.deepEqual(await store.look('s1', []), { count: 5, bytes: 50, detached: undefined, claims: new Set() });
  });

  it('the oldest file deleted by hand: the next look sees it and rebuilds', async () => {
    const { root, store } = queueWith('manual', 5);
    assert.equal((await store.look('s1', [])).count, 5);
    unlinkSync(join(root, 's1', seg(1)));
    unlinkSync(join(root, 's1', seg(2)));
    assert.deepEqual(await store.look('s1', []), { count: 3, bytes: 30, detached: undefined, claims: new Set() });
  });

  it('files added or deleted by hand elsewhere in the queue: the next listing (a drain) repairs the summary', async () => {
    const { root, store } = queueWith('added', 3);
    assert.equal((await store.look('s1', [])).count, 3);
    writeFileSync(join(root, 's1', seg(7)), 'z'.repeat(10));
    unlinkSync(join(root, 's1', seg(2)));
    writeFileSync(join(root, 's1', seg(8)), 'z'.repeat(10));
    assert.deepEqual(
      (await store.scan('s1')).files.map((f) => f.name),
      [seg(1), seg(3), seg(7), seg(8)],
    );
    assert.deepEqual(await store.look('s1', []), { count: 4, bytes: 40, detached: undefined, claims: new Set() });
    assert.ok(!(await store.scan('s1')).claims.has(SUMMARY_FILE), 'the summary is not a claim');
  });

  it('a crash between a file change and the summary (a lock left by a dead process) is repaired by the next change', async () => {
    const { root, store } = queueWith('crash', 3);
    assert.equal((await store.look('s1', [])).count, 3);
    // What a cmd_archiver killed after linking seg 4 into the queue leaves: the file, its lock, the old summary.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(root, 's1', seg(4)), 'y'.repeat(10));
    writeFileSync(join(root, 's1', LOCK_FILE), `${dead} ${Date.now()}\n`);
    assert.deepEqual(await store.look('s1', []), { count: 4, bytes: 40, detached: undefined, claims: new Set() }, 'look sees the dead holder');
    writeFileSync(join(root, 's1', seg(5)), 'y'.repeat(10));
    writeFileSync(join(root, 's1', LOCK_FILE), `${dead} ${Date.now()}\n`);
    assert.equal(await store.enqueue('s1', src, seg(6)), 'created');
    assert.deepEqual(await store.look('s1', []), { count: 6, bytes: 150, detached: undefined, claims: new Set() }, 'enqueue broke the lock and rebuilt');
    assert.throws(() => readFileSync(join(root, 's1', LOCK_FILE)), /ENOENT/, 'no lock left behind');
  });

  it('concurrent enqueues and removes keep the summary equal to the files', async () => {
    const { store } = queueWith('race', 0);
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.enqueue('s1', src, seg(i + 1))));
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store.remove('s1', seg(i + 1)) : store.look('s1', []))));
    const files = (await store.scan('s1')).files;
    assert.equal(files.length, 20);
    assert.deepEqual(await store.look('s1', []), { count: 20, bytes: 2000, detached: undefined, claims: new Set() });
  });

  it('read with a bound hands back only the head of a claim file', async () => {
    const { root, store } = queueWith('head', 0);
    writeFileSync(join(root, 's1', '.outage'), `{"since":1}\n${'x'.repeat(200_000)}`);
    assert.equal(await store.read('s1', '.outage', 12), '{"since":1}\n');
    assert.equal((await store.read('s1', '.outage'))!.length, 200_012);
    assert.equal(await store.read('s1', '.nothing', 12), undefined);
  });

  it('drop empties the summary with the files', async () => {
    const { store } = queueWith('drop', 4);
    assert.equal((await store.look('s1', [])).count, 4);
    assert.deepEqual(await store.drop('s1', 'why\n'), { created: true, deleted: 4 });
    assert.deepEqual(await store.look('s1', []), { count: 0, bytes: 0, detached: 'why\n', claims: new Set() });
  });
});

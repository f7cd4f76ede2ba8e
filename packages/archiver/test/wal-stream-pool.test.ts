import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import { memoryLogger } from '@pitrtools/core/log';
import { nodePlaceFs } from '@pitrtools/core/wire/node-place-fs';
import { receiveStream } from '@pitrtools/core/wire/receive';
import { WalStreamPool } from '../src/adapters/wal-stream-pool.js';

/**
 * A session whose exec channels each run the real receiver (receiveStream) in this process,
 * into `dir`; a channel's receiver starts `startMs` after the exec, as cmd_standby does on a
 * slave. Opening a channel takes `openMs` (two round trips: the pool's measure of one), and a
 * channel takes what is written at `bytesPerSec` (its window: the write callback), one write
 * after the other; with `gate`, no write is taken before it resolves (a window that stays shut).
 * Records which channel each file's header went over.
 */
function receiverSession(dir: string, o: { startMs?: number; openMs?: number; failOpens?: number; bytesPerSec?: number; gate?: Promise<void> } = {}) {
  const channels: string[][] = [];
  const opens = { failed: 0, at: [] as number[] };
  const session = {
    endpoint: 'u@h:22',
    closedError: undefined,
    openExec: async () => {
      opens.at.push(performance.now());
      await new Promise((r) => setTimeout(r, o.openMs ?? 0));
      if (opens.failed < (o.failOpens ?? 0)) {
        opens.failed++;
        throw new Error('Channel open failure: open failed');
      }
      const files: string[] = [];
      channels.push(files);
      const toReceiver = new PassThrough();
      const toSender = new PassThrough();
      const ch = new EventEmitter() as EventEmitter & Record<string, unknown>;
      let free = 0;
      Object.assign(ch, {
        stderr: new EventEmitter(),
        write: (d: Buffer, cb?: () => void) => {
          const text = d.subarray(0, 200).toString('latin1');
          const m = /"t":"file","name":"([0-9A-F]{24})"/.exec(text);
          if (m) files.push(m[1]!);
          const r = toReceiver.write(Buffer.from(d));
          const take = (): void => {
            if (o.bytesPerSec === undefined) setImmediate(() => cb?.());
            else {
              free = Math.max(free, performance.now()) + (d.length * 1000) / o.bytesPerSec;
              setTimeout(() => cb?.(), free - performance.now());
            }
          };
          if (o.gate === undefined) take();
          else void o.gate.then(take);
          return r;
        },
        end: () => toReceiver.end(),
        close: () => ch.emit('close'),
      });
      toSender.on('data', (d: Buffer) => ch.emit('data', d));
      toSender.on('end', () => ch.emit('close'));
      setTimeout(() => void receiveStream(toReceiver, toSender, nodePlaceFs, dir).catch(() => undefined), o.startMs ?? 5);
      return ch;
    },
  };
  return { session: session as never, channels, opens };
}

function target(dir: string): SlaveTarget {
  return {
    name: 'h',
    entry: 'h',
    r_archivedir: dir,
    remoteDirFsync: true,
    compress: { algo: 'zstd', level: 1 },
    cmdStandby: 'cmd_standby',
    connectTimeoutMs: 10_000,
    deadlineMs: 60_000,
  } as SlaveTarget;
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `0000000100000000000000${String(i + 1).padStart(2, '0')}`);

/** `n` files of `size` random bytes in a new directory (and an empty dest/ beside them). */
function files(n: number, size: number): { root: string; dest: string; segs: string[]; data: Map<string, Buffer> } {
  const root = mkdtempSync(join(tmpdir(), 'pitr-pool-'));
  const dest = join(root, 'dest');
  mkdirSync(dest);
  const segs = names(n);
  const data = new Map(segs.map((s) => [s, randomBytes(size)]));
  for (const [s, d] of data) writeFileSync(join(root, s), d);
  return { root, dest, segs, data };
}

/** Runs `fn` on `n` files of `size` random bytes (files()), then removes them. */
async function withFiles(n: number, size: number, fn: (f: ReturnType<typeof files>) => Promise<void>): Promise<void> {
  const f = files(n, size);
  try {
    await fn(f);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
}

// The class: more than one channel window in flight where the window is what limits a stream
// (a long fat path), and no more channels where the link is (they would only share it, and
// the oldest segment, the one PostgreSQL waits for, would arrive later). Before, a burst's files
// were all picked before any was counted, so they went to the first stream whatever the path.
test('window-bound: a burst opens more lanes, up to upload_lanes, and every file lands whole', () =>
  withFiles(12, 4 << 20, async (f) => {
    // A round trip of 100 ms (2 MiB per round trip = 21 MB/s a channel at most) and channels that take 100 MB/s: the window limits.
    const { session, channels, opens } = receiverSession(f.dest, { openMs: 200, bytesPerSec: 100e6 });
    const pool = new WalStreamPool(target(f.dest), memoryLogger(), 3);
    const got = await Promise.all(f.segs.map((n) => pool.send(session, join(f.root, n), n)));
    assert.deepEqual(
      got,
      f.segs.map(() => 'created'),
    );
    assert.ok(channels.length >= 2 && channels.length <= 3, `lanes opened: ${channels.length} (${JSON.stringify(channels)})`);
    // One lane more per verdict: the third only once the second has itself waited on its window
    // for two round trips (100 ms each here) after its receiver's hello, not at the same verdict.
    if (opens.at.length === 3) assert.ok(opens.at[2]! - opens.at[1]! >= 2 * 200, `lanes 2 and 3 opened ${(opens.at[2]! - opens.at[1]!).toFixed(0)} ms apart`);
    for (const [n, d] of f.data) assert.ok(readFileSync(join(f.dest, n)).equals(d), n);
    pool.end();
  }));

test('link-bound: one lane carries the burst, in order, however many upload_lanes allows', () =>
  withFiles(4, 1 << 20, async (f) => {
    // The same round trip, channels that take 4 MB/s: the link limits, not the window.
    const { session, channels } = receiverSession(f.dest, { openMs: 200, bytesPerSec: 4e6 });
    const pool = new WalStreamPool(target(f.dest), memoryLogger(), 3);
    const got = await Promise.all(f.segs.map((n) => pool.send(session, join(f.root, n), n)));
    assert.deepEqual(
      got,
      f.segs.map(() => 'created'),
    );
    assert.deepEqual(channels, [f.segs]);
    pool.end();
  }));

test('a short round trip: one lane, even when the channel is fast', () =>
  withFiles(6, 1 << 20, async (f) => {
    // Even if a busy machine makes the open look 10 ms long, 2 MiB per 5 ms is 400 MB/s: 50 MB/s is far from window-bound.
    const { session, channels } = receiverSession(f.dest, { openMs: 1, bytesPerSec: 50e6 });
    const pool = new WalStreamPool(target(f.dest), memoryLogger(), 3);
    await Promise.all(f.segs.map((n) => pool.send(session, join(f.root, n), n)));
    assert.deepEqual(channels, [f.segs]);
    pool.end();
  }));

test('a channel that cannot be opened fails the file it was opened for with its error; the next file opens another', () =>
  withFiles(3, 4096, async (f) => {
    const { session, channels } = receiverSession(f.dest, { openMs: 10, failOpens: 1 });
    const pool = new WalStreamPool(target(f.dest), memoryLogger(), 1);
    const got = await Promise.allSettled(f.segs.map((n) => pool.send(session, join(f.root, n), n)));
    assert.deepEqual(
      got.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value)),
      ['Channel open failure: open failed', 'created', 'created'],
    );
    assert.deepEqual(channels, [f.segs.slice(1)]);
    pool.end();
  }));

test('files sent in the same turn go out in WAL order, whatever order their callers came in', () =>
  withFiles(4, 64 * 1024, async (f) => {
    const { session, channels } = receiverSession(f.dest, { openMs: 5 });
    const pool = new WalStreamPool(target(f.dest), memoryLogger(), 1);
    const order = [f.segs[2]!, f.segs[3]!, f.segs[0]!, f.segs[1]!];
    await Promise.all(order.map((n) => pool.send(session, join(f.root, n), n)));
    assert.deepEqual(channels, [f.segs]);
    pool.end();
  }));

test('end() with files still queued rejects them, and later sends, instead of leaving them waiting', () =>
  withFiles(4, 1 << 20, async (f) => {
    // The channel's window stays shut until end() was called: the first file is being written
    // and the others wait. On a busy machine this process may look late, when the pool has put a
    // second file's frames into the channel too: the files in the channel at end() finish, the
    // rest are rejected.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { session, channels } = receiverSession(f.dest, { openMs: 5, bytesPerSec: 10e6, gate });
    const pool = new WalStreamPool(target(f.dest), memoryLogger(), 1);
    const sends = f.segs.map((n) => pool.send(session, join(f.root, n), n));
    while (channels[0] === undefined || channels[0].length === 0) await new Promise((r) => setTimeout(r, 2));
    pool.end();
    const inChannel = channels[0].length;
    open();
    assert.ok(inChannel < f.segs.length, 'a file was still queued when end() came');
    const got = await Promise.allSettled(sends);
    assert.deepEqual(got[0], { status: 'fulfilled', value: 'created' }, 'the file already being written finishes');
    assert.deepEqual(
      got.map((r) => r.status),
      f.segs.map((_, i) => (i < inChannel ? 'fulfilled' : 'rejected')),
    );
    await assert.rejects(pool.send(session, join(f.root, f.segs[0]!), f.segs[0]!), /were ended/);
  }));

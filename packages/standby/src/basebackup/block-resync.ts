/**
 * One file of -B through the block sender: rebuilt under a temp name beside the destination
 * (incoming-file.ts: the unchanged blocks from the local copy, the changed ones from the master),
 * fsynced, given the master's mtime, renamed into place. The destination only ever holds a
 * complete copy: a -B killed in the middle leaves the old file as it was. Up to AHEAD batches
 * of a file are in flight (pipelined on the channel: a large file costs a round trip per AHEAD
 * MiB, not per MiB). With a local copy each batch holds a 1 MiB buffer of the copy's shared pool
 * (its unchanged blocks are read into it); without one the master's data goes straight to the
 * temp file.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { BufferPool } from '@pitrtools/core/ssh/sftp-fetch';
import { errorCode } from '@pitrtools/core/errors';
import { BATCH_BLOCKS, BLOCK, HASH_ALGO } from './block-frames.js';
import type { BlockChannel, Opened } from './block-channel.js';
import type { FileOutcome, WireJob } from './copy-protocol.js';
import { IncomingFile } from './incoming-file.js';
import { removePath } from './local-tree.js';
import { lanes } from '@pitrtools/core/lanes';

/** Where the rebuilt file goes (IncomingFile; a fake in the unit tests). */
export interface RebuildTarget {
  write(chunks: Buffer[], pos: number): Promise<void>;
  place(mtime: number): Promise<void>;
  discard(): Promise<void>;
}

/** What resyncFile did: the outcome, the bytes it moved over the channel both ways, and whether a local copy was there to compare with. */
export interface ResyncResult {
  outcome: FileOutcome;
  wire: number;
  againstLocal: boolean;
}

/** Opens the local copy for reading, or undefined when there is none (or it is not a file). */
async function openLocal(path: string): Promise<{ fh: FileHandle; size: number } | undefined> {
  try {
    const fh = await fsp.open(path, 'r');
    const st = await fh.stat();
    if (st.isFile()) return { fh, size: st.size };
    await fh.close();
  } catch (err) {
    if (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'EISDIR') throw err;
  }
  return undefined;
}

/** Whether `path` is a regular file here (a copy the sender can compare with). */
export async function hasLocalFile(path: string): Promise<boolean> {
  return (await fsp.stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Reads up to `len` bytes at `pos` into buf; returns how many there were. */
async function readFully(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<number> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Options of resyncFile. */
export interface ResyncOptions {
  onBytes?: (n: number) => void;
  create?: (dest: string) => Promise<RebuildTarget>;
  /**
   * Buffers of one batch (1 MiB) for files with a local copy, shared by every file of the copy:
   * the memory bound of a re-sync. Default: one of its own (a batch at a time).
   */
  batches?: BufferPool;
}

/** A first batch up to this size gets a buffer of its own instead of one of the pool's (bytes). */
const SMALL_FIRST = 64 * 1024;

/**
 * Batches in flight per file: for a file the standby has no copy of, 8 MiB of it per round trip
 * and no buffer of ours each; with a local copy as many as `batches` has free. Measured over 100 Mbit/s + 30 ms each way (bench part wan, -B of a pgbench -s 5
 * cluster, compress zstd): one at a time, the 64 MiB pgbench_accounts took a round trip per MiB.
 */
const AHEAD = 8;

/**
 * Runs `batch(off, len)` for each batch of [from, size) on AHEAD lanes (core's lanes()): after a
 * failure no batch starts, and every lane ends before the failure is thrown, so none writes into
 * a file given up.
 */
function everyBatch(from: number, size: number, batch: (off: number, len: number) => Promise<void>): Promise<void> {
  const BATCH = BATCH_BLOCKS * BLOCK;
  let next = from;
  return lanes(AHEAD, async (stop) => {
    while (!stop() && next < size) {
      const off = next;
      next += BATCH;
      await batch(off, Math.min(BATCH, size - off));
    }
  });
}

/** Where a batch's data may land: [from, to) of the file; anything else is a protocol error. */
function inBatch(path: string, from: number, to: number, at: number, len: number): void {
  if (at < from || at + len > to) throw new Error(`block sender protocol: data for ${path} outside the batch asked for`);
}

/** resyncFile for a file with no local copy: every block comes from the master, written where it belongs as it arrives. */
async function fetchNew(
  ch: BlockChannel,
  job: WireJob,
  o: { onBytes?: (n: number) => void; create?: (dest: string) => Promise<RebuildTarget> },
): Promise<ResyncResult> {
  const BATCH = BATCH_BLOCKS * BLOCK;
  let creating: Promise<RebuildTarget> | undefined;
  const target = (): Promise<RebuildTarget> => (creating ??= (o.create ?? IncomingFile.create)(job.local));
  const write = async (at: number, data: Buffer): Promise<void> => {
    await (await target()).write([data], at);
    o.onBytes?.(data.length);
  };
  try {
    const firstBlocks = Math.ceil(Math.min(BATCH, job.size) / BLOCK);
    const opened = await ch.openWithBatch(job.id, job.remote, firstBlocks, [], (at, data) => {
      inBatch(job.remote, 0, firstBlocks * BLOCK, at, data.length);
      return write(at, data);
    });
    if (opened === 'gone') {
      await removePath(job.local);
      return { outcome: 'vanished', wire: ch.take(job.id), againstLocal: false };
    }
    const t = await target();
    await everyBatch(firstBlocks * BLOCK, opened.size, (off, len) =>
      ch.batch(job.id, off, Math.ceil(len / BLOCK), [], (at, data) => {
        inBatch(job.remote, off, off + len, at, data.length);
        return write(at, data);
      }),
    );
    await ch.close(job.id);
    // Changed since the walk listed it: mtime 0, so the next -B compares it again.
    await t.place(opened.mtime === job.mtime ? job.mtime : 0);
  } catch (err) {
    ch.take(job.id);
    await (await creating?.catch(() => undefined))?.discard();
    throw err;
  }
  return { outcome: 'copied', wire: ch.take(job.id), againstLocal: false };
}

/**
 * Re-syncs `job` (id: unique on `ch`) from the master: 'vanished' when the master no longer has
 * it (the local copy goes too), else 'copied'. Throws what the channel or the disk threw, with
 * the temp file removed and the destination untouched.
 */
export async function resyncFile(ch: BlockChannel, job: WireJob, o: ResyncOptions = {}): Promise<ResyncResult> {
  const BATCH = BATCH_BLOCKS * BLOCK;
  const local = await openLocal(job.local);
  if (!local) return fetchNew(ch, job, o);
  const pool = o.batches ?? new BufferPool(BATCH, 1);
  let out: RebuildTarget | undefined;
  try {
    // The first batch goes out with the open, sized by the walk's size (the master's size may have
    // moved since: what the open says decides what is written). Most files of a cluster are far
    // smaller than a batch: a buffer of their size, not one of the pool's.
    const firstBlocks = Math.ceil(Math.min(BATCH, job.size) / BLOCK);
    const pooled = firstBlocks * BLOCK > SMALL_FIRST;
    const first = pooled ? await pool.acquire() : Buffer.allocUnsafe(firstBlocks * BLOCK);
    let opened: Opened;
    try {
      opened = await ch.openWithBatch(job.id, job.remote, firstBlocks, await localHashes(local, first, 0, firstBlocks * BLOCK), (at, data) => {
        inBatch(job.remote, 0, firstBlocks * BLOCK, at, data.length);
        data.copy(first, at);
      });
      if (opened === 'gone') {
        await local.fh.close();
        await removePath(job.local);
        return { outcome: 'vanished', wire: ch.take(job.id), againstLocal: true };
      }
      out = await (o.create ?? IncomingFile.create)(job.local);
      const n = Math.min(firstBlocks * BLOCK, opened.size);
      if (n > 0) {
        await out.write([first.subarray(0, n)], 0);
        o.onBytes?.(n);
      }
    } finally {
      if (pooled) pool.release(first);
    }
    const target = out;
    const size = opened.size;
    // The rest: up to AHEAD batches in flight, each in a buffer of the pool (the local blocks are
    // read into it, the changed ones copied over them, then it is written where it belongs).
    await everyBatch(firstBlocks * BLOCK, size, async (off, len) => {
      const buf = await pool.acquire();
      try {
        await ch.batch(job.id, off, Math.ceil(len / BLOCK), await localHashes(local, buf, off, len), (at, data) => {
          inBatch(job.remote, off, off + len, at, data.length);
          data.copy(buf, at - off);
        });
        await target.write([buf.subarray(0, len)], off);
        o.onBytes?.(len);
      } finally {
        pool.release(buf);
      }
    });
    await ch.close(job.id);
    // Changed since the walk listed it: mtime 0, so the next -B compares it again.
    await target.place(opened.mtime === job.mtime ? job.mtime : 0);
  } catch (err) {
    ch.take(job.id);
    await out?.discard();
    throw err;
  } finally {
    await local.fh.close().catch(() => undefined);
  }
  return { outcome: 'copied', wire: ch.take(job.id), againstLocal: true };
}

/** Hashes of the local copy's blocks in [off, off + len) (read into `buf`), as many as it has there; none without a local copy. */
async function localHashes(local: { fh: FileHandle; size: number } | undefined, buf: Buffer, off: number, len: number): Promise<Buffer[]> {
  const mine = local ? await readFully(local.fh, buf, Math.max(0, Math.min(len, local.size - off)), off) : 0;
  const hashes: Buffer[] = [];
  for (let at = 0; at < mine; at += BLOCK)
    hashes.push(
      createHash(HASH_ALGO)
        .update(buf.subarray(at, Math.min(at + BLOCK, mine)))
        .digest(),
    );
  return hashes;
}

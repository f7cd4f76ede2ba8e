/**
 * The sender's side of the WAL stream: reads a file a piece (1 MiB) at a time, hashes and
 * compresses each piece into a buffer of a bounded pool, writes it, and returns the receiver's
 * answer when it comes. A piece's buffer goes back to the pool as soon as the channel has taken
 * its bytes (the write callback: ssh2 has encrypted them by then), so a slave's memory for the
 * stream is the pool (PiecePool: ~7 MiB), whatever the link's latency, the number of files
 * unanswered or how well they compress. Several files may be unanswered on one channel
 * (pipelined: no round trip per file beyond its answer); one file's frames are written together.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { BufferPool } from '../buffer-pool.js';
import type { Codec } from '../compress.js';
import { PitrError } from '../errors.js';
import { encodeFrame, FrameReader, MAX_FILE, PIECE_BYTES, WIRE_VERSION, type Answer, type FileHeader, type Header } from './frame.js';

/** What the sender needs of a channel (an ssh2 exec channel is one). */
export interface StreamChannel {
  /** `done` runs once the channel has taken the bytes (the buffer may be reused then), with an error if it never will. */
  write(data: Buffer, done: (err?: Error | null) => void): unknown;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
  on(event: 'error', fn: (e?: Error) => void): unknown;
  end(): unknown;
}

/** A file too large for the stream (MAX_FILE); the caller sends it over SFTP. */
export class FrameTooLarge extends Error {
  constructor(path: string, size: number) {
    super(`${path} (${size} bytes) is larger than the WAL stream carries (${MAX_FILE} bytes)`);
    this.name = 'FrameTooLarge';
  }
}

/**
 * lz4's pieces: 256 KiB. lz4-napi has no compress-into-a-buffer call, so each piece leaves its
 * output (bound-sized) as garbage; smaller pieces, smaller garbage, and lz4's 64 KiB window loses
 * nothing. cmd_queue's peak on loopback 5-segment bursts (bench harness), 1 MiB -> 256 KiB:
 * pgbench WAL 74.5 -> 69.1-69.4 MB, incompressible 77.7 -> 72.9-73.7 MB; in part wan lz4 on
 * incompressible WAL at 100 Mbit/s was the one row at 101 MB.
 */
const LZ4_PIECE_BYTES = 256 * 1024;

/** Compressed pieces not yet taken by their channel, per slave (all its lanes): with 1 MiB pieces ~6 MiB. */
const OUT_BUFFERS = 6;
/** Pieces being read and compressed at once, per slave (compression runs on this thread anyway). */
const READ_BUFFERS = 2;
/**
 * Compressed pieces one channel may hold that it has not taken yet (two: one going through its
 * window, the next ready behind it). The pool is shared by a slave's channels, and a channel
 * whose window is shut (its receiver still starting, or slow) took every buffer of it before:
 * the other channels of the burst then waited for that one (bench part wan, 1 Gbit/s + 30 ms:
 * the first stream's segment landed last).
 */
export const CHANNEL_PIECES = 2;

/**
 * The buffers of one slave's streams: READ_BUFFERS of `piece` bytes to read into, OUT_BUFFERS of
 * codec.bound(piece) + 4 bytes to compress into; allocated at the first file, reused for every file.
 */
export class PiecePool {
  private pools: { read: BufferPool; out: BufferPool } | undefined;

  constructor(
    readonly codec: Codec,
    /** Original bytes per piece. */
    readonly piece = codec.spec.algo === 'lz4' ? LZ4_PIECE_BYTES : PIECE_BYTES,
  ) {}

  /** Buffers to read a piece into. */
  get read(): BufferPool {
    return this.both().read;
  }

  /** Buffers to compress a piece into (length prefix included). */
  get out(): BufferPool {
    return this.both().out;
  }

  private both(): { read: BufferPool; out: BufferPool } {
    return (this.pools ??= { read: new BufferPool(this.piece, READ_BUFFERS), out: new BufferPool(4 + this.codec.bound(this.piece), OUT_BUFFERS) });
  }
}

interface Pending {
  name: string;
  resolve(a: Answer): void;
  reject(e: unknown): void;
}

/** Reads `n` bytes at `pos` into `buf`; throws WIRE_PROTOCOL when the file ends first. */
async function readFully(fh: fsp.FileHandle, buf: Buffer, n: number, pos: number, path: string): Promise<void> {
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
    if (bytesRead === 0) throw new PitrError('WIRE_PROTOCOL', `${path} shrank while it was read (${pos + got} bytes)`);
    got += bytesRead;
  }
}

/** One channel's sender. `fail(why)` builds the error that in-flight and later sends reject with when the channel dies. */
export class WalStreamSender {
  private readonly pending: Pending[] = [];
  private dead: unknown;
  private hello: { resolve(): void; reject(e: unknown): void } | undefined;
  /** Files are written one after the other on a channel; this is the last one's writing. */
  private writing: Promise<unknown> = Promise.resolve();
  /** Pool buffers the channel has not taken yet, each with its return to the pool. */
  private readonly lent = new Map<Buffer, () => void>();
  /** The writer waiting for the channel to take a piece (at most CHANNEL_PIECES lent). */
  private roomWaiter: (() => void) | undefined;
  /** Since when pieces have waited for the channel without a break, and the bytes it took meanwhile. */
  private blocked: { since: number; bytes: number } | undefined;
  private readonly waited = { ms: 0, bytes: 0 };
  /** Resolves once the receiver's hello arrived; rejects if the channel dies first. */
  readonly ready: Promise<void>;

  constructor(
    private readonly ch: StreamChannel,
    private readonly fail: (why: string) => Error,
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.hello = { resolve, reject }));
    this.ready.catch(() => undefined);
    const reader = new FrameReader();
    ch.on('data', (d: Buffer) => {
      if (this.dead !== undefined) return;
      try {
        for (const f of reader.push(d)) if ('header' in f) this.onFrame(f.header);
      } catch (err) {
        this.kill(err);
        ch.end();
      }
    });
    ch.on('close', () => this.kill(this.fail(reader.pending > 0 ? 'the receiver ended inside an answer' : 'the receiver ended')));
    // A stream error (a write after the channel ended) must not go unhandled: it kills the stream, not the process.
    ch.on('error', (e?: Error) => this.kill(this.fail(`the channel failed: ${e?.message ?? 'unknown error'}`)));
  }

  /** False once the channel died (every later send rejects). */
  get usable(): boolean {
    return this.dead === undefined;
  }

  /**
   * What the channel took while pieces waited for it (its window shut) since the receiver's
   * hello, in ms and bytes: about one channel window per round trip when the window is what
   * limits it, less when the link does. Waits under 1 ms (a window with room) are not counted.
   */
  get windowWaits(): { ms: number; bytes: number } {
    const b = this.blocked;
    const now = b === undefined ? 0 : performance.now() - b.since;
    return now >= 1 ? { ms: this.waited.ms + now, bytes: this.waited.bytes + b!.bytes } : { ...this.waited };
  }

  /**
   * Sends the file at `src` under `name` and resolves with the receiver's answer. Throws
   * FrameTooLarge (nothing sent) for a file over MAX_FILE, an errno error when `src` cannot be
   * opened (nothing sent), the channel's `fail` error when it dies; a read error in the middle of
   * the file ends the channel (the receiver cannot take half a file) and throws.
   */
  sendFile(src: string, name: string, pool: PiecePool): Promise<Answer> {
    return this.send(src, name, pool).answer;
  }

  /** sendFile, and `written`: settles once the file's last piece is written to the channel (not yet taken, not answered). */
  send(src: string, name: string, pool: PiecePool): { written: Promise<unknown>; answer: Promise<Answer> } {
    const written = this.writing.then(() => this.writeFile(src, name, pool));
    this.writing = written.catch(() => undefined);
    return { written: this.writing, answer: written.then((w) => w.answer) };
  }

  /** Ends the request side; the receiver finishes what it has and exits. */
  end(): void {
    this.ch.end();
  }

  private async writeFile(src: string, name: string, pool: PiecePool): Promise<{ answer: Promise<Answer> }> {
    // Not waiting for the receiver's hello: its first bytes wait in the channel while it starts
    // (openWalStream); a receiver that turns out absent or of another version kills the channel.
    if (this.dead !== undefined) throw this.dead;
    const fh = await fsp.open(src, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_FILE) throw new FrameTooLarge(src, size);
      if (this.dead !== undefined) throw this.dead;
      const header: FileHeader = { t: 'file', name, size, algo: pool.codec.spec.algo, piece: pool.piece };
      const answer = new Promise<Answer>((resolve, reject) => this.pending.push({ name, resolve, reject }));
      answer.catch(() => undefined);
      this.put(encodeFrame(header));
      const hash = createHash('sha256');
      try {
        for (let pos = 0; pos < size; pos += pool.piece) {
          const n = Math.min(pool.piece, size - pos);
          await this.room();
          const raw = await pool.read.acquire();
          try {
            await readFully(fh, raw, n, pos, src);
            hash.update(raw.subarray(0, n));
            const out = await pool.out.acquire();
            if (this.dead !== undefined) {
              pool.out.release(out);
              throw this.dead;
            }
            let len: number;
            try {
              len = pool.codec.compressInto(raw.subarray(0, n), out.subarray(4));
            } catch (err) {
              pool.out.release(out);
              throw err;
            }
            out.writeUInt32BE(len, 0);
            this.lend(out, 4 + len, pool.out);
          } finally {
            pool.read.release(raw);
          }
        }
      } catch (err) {
        // The receiver has the file's header and some pieces: this channel is of no further use.
        this.kill(err);
        this.ch.end();
        throw err;
      }
      this.put(encodeFrame({ t: 'end', name, sha256: hash.digest('hex') }));
      return { answer };
    } finally {
      await fh.close();
    }
  }

  /** Writes a small frame of our own (not from a pool). */
  private put(b: Buffer): void {
    this.ch.write(b, () => undefined);
  }

  /** Resolves once this channel holds fewer than CHANNEL_PIECES untaken pieces (or died: the caller then sees `dead`). */
  private async room(): Promise<void> {
    while (this.lent.size >= CHANNEL_PIECES && this.dead === undefined) await new Promise<void>((resolve) => (this.roomWaiter = resolve));
  }

  private wakeWriter(): void {
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w?.();
  }

  /** Writes the first `len` bytes of a pool buffer; it goes back to `pool` once the channel took them (or died). */
  private lend(buf: Buffer, len: number, pool: BufferPool): void {
    let back = false;
    const giveBack = (): void => {
      if (back) return;
      back = true;
      this.lent.delete(buf);
      pool.release(buf);
      const b = this.blocked;
      if (b !== undefined) {
        b.bytes += len;
        if (this.lent.size === 0) {
          this.blocked = undefined;
          const ms = performance.now() - b.since;
          if (ms >= 1) {
            this.waited.ms += ms;
            this.waited.bytes += b.bytes;
          }
        }
      }
      this.wakeWriter();
    };
    if (this.lent.size === 0) this.blocked = { since: performance.now(), bytes: 0 };
    this.lent.set(buf, giveBack);
    this.ch.write(buf.subarray(0, len), giveBack);
  }

  private onFrame(h: Header): void {
    if (h.t === 'hello') {
      if (h.v !== WIRE_VERSION) throw this.fail(`the receiver speaks WAL stream version ${h.v}, this cmd_archiver ${WIRE_VERSION}`);
      // What the window took while the receiver started says nothing about the path: count from now.
      this.waited.ms = 0;
      this.waited.bytes = 0;
      if (this.blocked !== undefined) this.blocked = { since: performance.now(), bytes: 0 };
      this.hello?.resolve();
      return;
    }
    if (h.t !== 'answer') throw new PitrError('WIRE_PROTOCOL', `WAL stream: a ${h.t} frame from the receiver`);
    const p = this.pending.shift();
    if (p === undefined || p.name !== h.name) throw new PitrError('WIRE_PROTOCOL', `WAL stream: an answer for ${h.name} where ${p?.name ?? 'none'} was due`);
    p.resolve(h);
  }

  /** Ends the stream with `err`: ready and every send in flight or later reject with it. */
  abort(err: unknown): void {
    this.kill(err);
  }

  private kill(err: unknown): void {
    if (this.dead !== undefined) return;
    this.dead = err;
    this.hello?.reject(err);
    for (const p of this.pending.splice(0)) p.reject(err);
    // A dead channel sends nothing more: what it still holds goes back to the pool (a callback
    // that never comes must not shrink the pool of the slave's other channels).
    for (const giveBack of [...this.lent.values()]) giveBack();
    this.wakeWriter();
  }
}

/**
 * Fetching many remote files through one SFTP channel, fast and in bounded memory: several READ
 * requests in flight per file, several files at once, all drawing their buffers from one pool
 * per channel, so memory is pool size x chunk size whatever the files' sizes. A file's bytes
 * reach its sink strictly in file order, consecutive chunks coalesced into one write (a local
 * file then sees large sequential writes, never two writers on one inode). The size from the
 * directory listing is only a hint: reading goes on until the server says end of file (files of
 * a running cluster grow), but that end-of-file probe goes out together with the last chunk, so
 * a file that kept its size costs no extra round trip; nor does closing it (not waited for).
 */
import { BufferPool } from '../buffer-pool.js';
import type { SftpChannel } from './sftp-channel.js';

export { BufferPool };

/** Where a fetched file's bytes go. */
export interface FetchSink {
  /** Consecutive bytes starting at `pos`, called in file order, one call at a time; the buffers are reused once it settles. */
  write(chunks: Buffer[], pos: number): Promise<void>;
}

/** Options of fetchFile. */
export interface FetchOptions {
  pool: BufferPool;
  /** The size the listing reported (a hint: the file is read until end of file). */
  sizeHint: number;
  /** READ requests in flight for this file at most; default 16 (the pool bounds them too). */
  lanes?: number;
  /** Chunks coalesced into one sink write at most; default 8. */
  maxBatch?: number;
  /** Bytes arrived (delta), for progress. */
  onBytes?: (n: number) => void;
}

/**
 * Reads `remotePath` to its end into `sink`; returns its length. The sink may still be in the
 * making (a local file being created): the remote OPEN goes out meanwhile.
 */
export async function fetchFile(ch: SftpChannel, remotePath: string, sink: FetchSink | Promise<FetchSink>, o: FetchOptions): Promise<number> {
  const [opened, ready] = await Promise.allSettled([ch.open(remotePath, 'r'), sink]);
  if (opened.status === 'rejected') throw opened.reason;
  const handle = opened.value;
  try {
    if (ready.status === 'rejected') throw ready.reason;
    return await new FileFetch(ch, handle, remotePath, ready.value, o).run();
  } finally {
    // Requests on a channel are answered in order: the next file's OPEN need not wait for this.
    ch.close(handle, remotePath).catch(() => undefined);
  }
}

class FileFetch {
  private readonly chunk: number;
  private readonly size: number;
  private next = 0;
  private eofAt = Infinity;
  /** A read at or past the size hint is out: further ones wait for its answer. */
  private probing = false;
  private failure: unknown;
  private readonly ready = new Map<number, { buf: Buffer; len: number }>();
  private writePos = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly ch: SftpChannel,
    private readonly handle: Buffer,
    private readonly path: string,
    private readonly sink: FetchSink,
    private readonly o: FetchOptions,
  ) {
    this.chunk = Math.min(o.pool.chunk, ch.maxRead);
    this.size = Math.max(0, o.sizeHint);
  }

  async run(): Promise<number> {
    const lanes = Math.max(1, Math.min(this.o.lanes ?? 16, Math.ceil(this.size / this.chunk) + 1));
    await Promise.allSettled(Array.from({ length: lanes }, () => this.lane().catch((e: unknown) => this.fail(e))));
    while (this.writing) await this.writing;
    if (this.failure === undefined && (this.ready.size > 0 || this.writePos < this.eofAt)) {
      // Cannot happen (every position below the end is read before the lanes stop); if it did,
      // the copy would have a hole: fail rather than return it.
      this.fail(new Error(`internal error: ${this.path} read up to ${this.writePos} of ${this.eofAt} bytes`));
    }
    if (this.failure !== undefined) throw this.failure;
    return this.eofAt;
  }

  private done(): boolean {
    return this.failure !== undefined || this.next >= this.eofAt || (this.next >= this.size && this.probing);
  }

  private async lane(): Promise<void> {
    const { pool } = this.o;
    while (!this.done()) {
      const buf = await pool.acquire();
      if (this.done()) {
        pool.release(buf);
        return;
      }
      const pos = this.next;
      const probe = pos >= this.size;
      const len = probe ? this.chunk : Math.min(this.chunk, this.size - pos);
      this.next = pos + len;
      if (probe) this.probing = true;
      let got: number;
      try {
        got = await this.readFull(buf, pos, len);
      } catch (err) {
        pool.release(buf);
        throw err;
      }
      if (probe) this.probing = false;
      if (got < len && pos + got < this.eofAt) {
        this.eofAt = pos + got;
        this.dropPastEnd();
      }
      // Nothing waits for these bytes (a failure, or past a shrunken end): the buffer goes back now,
      // or a lane waiting for one could wait forever.
      if (got === 0 || this.failure !== undefined || pos >= this.eofAt) {
        pool.release(buf);
        continue;
      }
      this.o.onBytes?.(got);
      this.ready.set(pos, { buf, len: got });
      this.pump();
    }
  }

  /** Reads [pos, pos+len) completely unless end of file comes first; returns the bytes read. */
  private async readFull(buf: Buffer, pos: number, len: number): Promise<number> {
    let got = 0;
    while (got < len) {
      const n = await this.ch.read(this.handle, buf, got, len - got, pos + got, this.path);
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  /** Chunks read before the file shrank, past its end now: never written, only given back. */
  private dropPastEnd(): void {
    for (const [pos, c] of this.ready) {
      if (pos < this.eofAt) continue;
      this.ready.delete(pos);
      this.o.pool.release(c.buf);
    }
  }

  /** Hands the consecutive chunks at writePos to the sink, one write at a time. */
  private pump(): void {
    while (!this.writing && this.failure === undefined && this.ready.has(this.writePos)) {
      const bufs: Buffer[] = [];
      const held: Buffer[] = [];
      const start = this.writePos;
      const max = this.o.maxBatch ?? 8;
      for (let c = this.ready.get(this.writePos); c && held.length < max; c = this.ready.get(this.writePos)) {
        this.ready.delete(this.writePos);
        held.push(c.buf);
        // Bytes at or past a (shrunken) end of file are never written.
        const len = Math.min(c.len, this.eofAt - this.writePos);
        if (len > 0) bufs.push(len === c.buf.length ? c.buf : c.buf.subarray(0, len));
        this.writePos += c.len;
      }
      const release = (): void => {
        for (const b of held) this.o.pool.release(b);
      };
      if (bufs.length === 0) {
        release();
        continue;
      }
      this.writing = this.sink.write(bufs, start).then(
        () => {
          release();
          this.writing = undefined;
          this.pump();
        },
        (err: unknown) => {
          release();
          this.writing = undefined;
          this.fail(err);
        },
      );
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    for (const c of this.ready.values()) this.o.pool.release(c.buf);
    this.ready.clear();
  }
}

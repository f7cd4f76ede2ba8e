/**
 * Pipelined download: several READ requests in flight (one per lane), bounded memory (one
 * chunk per lane), bytes delivered in order to a Writable or written by position to a local
 * file. Used by the base backup to copy whole data directories, several files at a time.
 * Files of a running cluster change while we copy them (WAL replay fixes that), so the size
 * from fstat is only a hint: we read until the server says end of file.
 */
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import { Writable } from 'node:stream';
import type { SftpChannel } from './sftp-channel.js';

/** Options of download. */
export interface DownloadOptions {
  /** READ requests in flight; default 8. */
  inFlight?: number;
  /** Bytes per READ request; capped at the server's limit (OpenSSH: 255 KiB). */
  chunkSize?: number;
  /** Called as bytes arrive, with bytes done and the size the file had when opened. */
  onProgress?: (done: number, sizeHint: number) => void;
  /** Local path only: mode of a newly created file; default 0600. */
  mode?: number;
  /** Local path only: fsync the file before returning; default true. */
  fsync?: boolean;
}

/** What download reports. */
export interface DownloadResult {
  bytes: number;
}

/** Where pipelinedRead puts bytes; `eof` and `abort` release lanes a sink may be holding. */
interface Sink {
  deliver(pos: number, buf: Buffer, len: number): Promise<void>;
  eof(pos: number): void;
  abort(err: unknown): void;
}

/** Reads `remotePath` into `sink` with pipelined requests; returns the length up to end of file. */
async function pipelinedRead(ch: SftpChannel, remotePath: string, sink: Sink, opts: DownloadOptions, freshBuffers: boolean): Promise<number> {
  const handle = await ch.open(remotePath, 'r');
  try {
    const sizeHint = (await ch.fstat(handle, remotePath)).size;
    const chunk = Math.max(1, Math.min(opts.chunkSize ?? ch.maxRead, ch.maxRead));
    let next = 0;
    let eofAt = Infinity;
    let done = 0;
    let failed = false;
    // Reads [pos, pos+len) completely unless end of file comes first; returns bytes read.
    const readFull = async (buf: Buffer, pos: number, len: number): Promise<number> => {
      let got = 0;
      while (got < len) {
        const n = await ch.read(handle, buf, got, len - got, pos + got, remotePath);
        if (n === 0) {
          eofAt = Math.min(eofAt, pos + got);
          sink.eof(eofAt);
          break;
        }
        got += n;
      }
      return got;
    };
    const lane = async (): Promise<void> => {
      let buf = Buffer.allocUnsafe(chunk);
      while (!failed && next < sizeHint && next < eofAt) {
        const pos = next;
        const len = Math.min(chunk, sizeHint - pos);
        next += len;
        const got = await readFull(buf, pos, len);
        if (got > 0) {
          await sink.deliver(pos, buf, got);
          done += got;
          opts.onProgress?.(done, sizeHint);
        }
        if (freshBuffers) buf = Buffer.allocUnsafe(chunk);
      }
    };
    const n = Math.max(1, Math.min(opts.inFlight ?? 8, Math.ceil(sizeHint / chunk)));
    const results = await Promise.allSettled(Array.from({ length: n }, () => lane().catch((e: unknown) => {
      failed = true;
      sink.abort(e); // lanes waiting for this chunk's turn must not wait forever
      throw e;
    })));
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
    // The file may have grown since fstat: go on, one request at a time, until end of file.
    let pos = Math.min(sizeHint, eofAt);
    while (eofAt === Infinity) {
      const buf = Buffer.allocUnsafe(chunk);
      const got = await readFull(buf, pos, chunk);
      if (got > 0) {
        await sink.deliver(pos, buf, got);
        done += got;
        opts.onProgress?.(done, sizeHint);
      }
      pos += got;
    }
    return eofAt;
  } finally {
    await ch.close(handle, remotePath).catch(() => undefined);
  }
}

/** Delivers chunks to a Writable in file order, holding at most one chunk per lane. */
function orderedSink(out: Writable): Sink {
  let nextOut = 0;
  let eof = Infinity;
  let failure: unknown;
  const waiting = new Map<number, { buf: Buffer; len: number; resolve: () => void; reject: (e: unknown) => void }>();
  let flushing: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    for (let w = waiting.get(nextOut); w !== undefined && nextOut < eof; w = waiting.get(nextOut)) {
      waiting.delete(nextOut);
      const len = Math.min(w.len, eof - nextOut);
      nextOut += w.len;
      try {
        if (!out.write(w.buf.subarray(0, len))) await once(out, 'drain');
        w.resolve();
      } catch (e) {
        w.reject(e);
      }
    }
  };
  return {
    deliver: (pos, buf, len) =>
      new Promise<void>((resolve, reject) => {
        if (failure !== undefined) return reject(failure);
        if (pos >= eof) return resolve(); // past a shrunken end: drop
        waiting.set(pos, { buf, len, resolve, reject });
        flushing = flushing.then(flush);
      }),
    eof: (e) => {
      eof = Math.min(eof, e);
      for (const [pos, w] of waiting) if (pos >= eof) { waiting.delete(pos); w.resolve(); }
    },
    abort: (err) => {
      failure = err;
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    },
  };
}

/** Downloads a remote file into a local path (created 0600, fsynced) or a Writable (not ended). */
export async function download(ch: SftpChannel, remotePath: string, dest: string | Writable, opts: DownloadOptions = {}): Promise<DownloadResult> {
  if (typeof dest !== 'string') {
    const bytes = await pipelinedRead(ch, remotePath, orderedSink(dest), opts, true);
    return { bytes };
  }
  const fh = await fsp.open(dest, 'w', opts.mode ?? 0o600);
  try {
    const sink: Sink = {
      deliver: async (pos, buf, len) => { await fh.write(buf, 0, len, pos); },
      eof: () => undefined,
      abort: () => undefined,
    };
    const bytes = await pipelinedRead(ch, remotePath, sink, opts, false);
    // A file that shrank while we read it may have left bytes past its new end.
    await fh.truncate(bytes);
    if (opts.fsync ?? true) await fh.sync();
    return { bytes };
  } finally {
    await fh.close();
  }
}

/** Reads a whole remote file into memory (for small files: configs, labels, pid files). */
export async function readRemoteFile(ch: SftpChannel, remotePath: string, opts: DownloadOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } });
  await download(ch, remotePath, sink, opts);
  return Buffer.concat(parts);
}

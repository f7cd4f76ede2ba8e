/**
 * Downloading one remote file into a local path or a Writable, for the SSH layer's users (small
 * files: labels, history files, pid files; or a whole file to a local path). Built on the one
 * pipelined SFTP reader, fetchFile (sftp-fetch.ts), which the base backup uses for whole data
 * directories: several READ requests in flight, bounded memory, bytes in file order, read until
 * the server says end of file (files of a running cluster grow).
 */
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import type { Writable } from 'node:stream';
import type { SftpChannel } from './sftp-channel.js';
import { BufferPool, fetchFile, type FetchSink } from './sftp-fetch.js';

/** Options of download. */
export interface DownloadOptions {
  /** READ requests in flight; default 8. */
  inFlight?: number;
  /** Bytes per READ request; capped at the server's limit (OpenSSH: 255 KiB). */
  chunkSize?: number;
  /** Called as bytes arrive, with the bytes done so far. */
  onProgress?: (done: number) => void;
  /** Local path only: mode of a newly created file; default 0600. */
  mode?: number;
  /** Local path only: fsync the file before returning; default true. */
  fsync?: boolean;
}

/** What download reports. */
export interface DownloadResult {
  bytes: number;
}

/** Downloads a remote file into a local path (created with `mode`, fsynced) or a Writable (not ended); resolves with its length in bytes. */
export async function download(ch: SftpChannel, remotePath: string, dest: string | Writable, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const chunk = Math.max(1, Math.min(opts.chunkSize ?? ch.maxRead, ch.maxRead));
  const lanes = Math.max(1, opts.inFlight ?? 8);
  // One buffer per lane; fetchFile reuses them once a sink write settles.
  const pool = new BufferPool(chunk, lanes);
  let done = 0;
  const onBytes = opts.onProgress
    ? (n: number): void => {
        done += n;
        opts.onProgress!(done);
      }
    : undefined;
  // The size lets all lanes read at once; a missing file is reported by fetchFile's OPEN.
  const sizeHint = await ch.stat(remotePath).then(
    (st) => st.size,
    () => 0,
  );
  const fetch = (sink: FetchSink | Promise<FetchSink>): Promise<number> =>
    fetchFile(ch, remotePath, sink, { pool, sizeHint, lanes, maxBatch: lanes, ...(onBytes ? { onBytes } : {}) });
  if (typeof dest !== 'string') {
    const out = dest;
    const bytes = await fetch({
      // Copies: the pool's buffers are reused as soon as this settles.
      async write(chunks) {
        for (const c of chunks) if (!out.write(Buffer.from(c))) await once(out, 'drain');
      },
    });
    return { bytes };
  }
  const fh = await fsp.open(dest, 'w', opts.mode ?? 0o600);
  try {
    const bytes = await fetch({
      async write(chunks, pos) {
        await fh.writev(chunks, pos);
      },
    });
    if (opts.fsync ?? true) await fh.sync();
    return { bytes };
  } finally {
    await fh.close();
  }
}

/** Reads a whole (small) remote file into memory: configs, labels, history files, pid files. */
export async function readRemoteFile(ch: SftpChannel, remotePath: string, opts: DownloadOptions = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = {
    write: (c: Buffer): boolean => {
      parts.push(c);
      return true;
    },
  } as unknown as Writable;
  await download(ch, remotePath, sink, opts);
  return Buffer.concat(parts);
}

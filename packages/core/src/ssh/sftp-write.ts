/**
 * Pipelined SFTP writes: several WRITE requests in flight, each as large as the server
 * accepts, one reusable buffer per lane, so memory stays at lanes x chunk whatever the file size.
 */
import { promises as fsp } from 'node:fs';
import type { BufferPool } from '../buffer-pool.js';
import type { SftpChannel } from './sftp-channel.js';
import { lanes } from '../lanes.js';

/** What to upload: a local file, or bytes already in memory. */
export type UploadSource = { path: string } | { data: Buffer };

/** A source read by position; a path is read through one shared handle. */
export interface Source {
  size: number;
  /** Fills `buf[0..len)` with bytes at `pos`, returning the buffer to send (may be a view). */
  chunk(buf: Buffer, pos: number, len: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Opens an UploadSource for positional reads. */
export async function openSource(src: UploadSource): Promise<Source> {
  if ('data' in src) {
    const d = src.data;
    return { size: d.length, chunk: (_b, pos, len) => Promise.resolve(d.subarray(pos, pos + len)), close: () => Promise.resolve() };
  }
  const fh = await fsp.open(src.path, 'r');
  const size = (await fh.stat()).size;
  return {
    size,
    chunk: async (buf, pos, len) => {
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      if (bytesRead !== len) throw new Error(`local file ${src.path} changed size while being uploaded`);
      return buf;
    },
    close: () => fh.close(),
  };
}

/**
 * Writes the whole source to an open remote handle with up to `inFlight` WRITE requests in
 * flight. `buffers`, when given, is a pool shared with other uploads (cmd_queue's daemon-wide
 * budget): each request reads into a buffer of it and gives it back at its answer, so one upload
 * alone may use all of `inFlight`, several share the pool, and no upload allocates buffers of its
 * own. Without it each lane reads into a buffer of its own.
 */
export async function pipelinedWrite(
  ch: SftpChannel,
  handle: Buffer,
  remotePath: string,
  source: Source,
  opts: { inFlight?: number; chunkSize?: number; onProgress?: (done: number, total: number) => void; buffers?: BufferPool },
): Promise<void> {
  const chunk = Math.max(1, Math.min(opts.chunkSize ?? ch.maxWrite, ch.maxWrite, opts.buffers?.chunk ?? Infinity));
  const total = source.size;
  let next = 0;
  let done = 0;
  const n = Math.max(1, Math.min(opts.inFlight ?? 16, Math.ceil(total / chunk) || 1));
  await lanes(n, async (stop) => {
    const own = opts.buffers ? undefined : Buffer.allocUnsafe(chunk);
    while (next < total && !stop()) {
      const buf = own ?? (await opts.buffers!.acquire());
      try {
        if (next >= total || stop()) return;
        const pos = next;
        const len = Math.min(chunk, total - pos);
        next += len;
        const data = await source.chunk(buf, pos, len);
        await ch.write(handle, data, 0, len, pos, remotePath);
        done += len;
        opts.onProgress?.(done, total);
      } finally {
        if (!own) opts.buffers!.release(buf);
      }
    }
  });
}

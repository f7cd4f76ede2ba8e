/**
 * Reading and compressing segments one at a time per slave, into one reused buffer: the raw
 * 16 MiB of a segment exist once per slave whatever is in flight, and only the compressed
 * payloads wait for the link (bounded by the sender). This is what keeps cmd_queue's peak RSS
 * under 100 MB with compress on (issue 14: a fresh 16 MiB buffer per segment and lane took it to 230 MB).
 */
import { promises as fsp } from 'node:fs';
import type { Codec } from '../compress.js';
import { PitrError } from '../errors.js';
import { MAX_FILE, sha256, type FileHeader } from './frame.js';

/** A file bigger than one frame carries (MAX_FILE, e.g. WAL of --wal-segsize 128 or more): the caller sends it over SFTP. */
export class FrameTooLarge extends Error {
  constructor(path: string, size: number) {
    super(`${path} (${size} bytes) is larger than a WAL stream frame (${MAX_FILE} bytes)`);
    this.name = 'FrameTooLarge';
  }
}

/** Packs files into frames, one at a time (callers queue). */
export class SegmentPacker {
  private buf: Buffer = Buffer.alloc(0);
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly codec: Codec) {}

  /**
   * Reads `src` and returns the frame header and compressed payload for `name`. `admit(bytes)`,
   * when given, runs before the next file is packed (it waits for room in the in-flight budget):
   * so at most one packed payload waits for the link, whatever the number of lanes and files
   * asked for (issue 14: payloads packed ahead of the budget took cmd_queue to 160-210 MB on
   * incompressible WAL). Throws the read's error, FrameTooLarge for a file over MAX_FILE, or admit's error.
   */
  pack(src: string, name: string, admit?: (bytes: number) => Promise<void>): Promise<{ header: FileHeader; payload: Buffer }> {
    const run = this.chain.then(async () => {
      const packed = await this.packNow(src, name);
      if (admit) await admit(packed.payload.length);
      return packed;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async packNow(src: string, name: string): Promise<{ header: FileHeader; payload: Buffer }> {
    const fh = await fsp.open(src, 'r');
    try {
      const { size } = await fh.stat();
      if (size > MAX_FILE) throw new FrameTooLarge(src, size);
      if (this.buf.length < size) this.buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fh.read(this.buf, got, size - got, got);
        if (bytesRead === 0) throw new PitrError('WIRE_PROTOCOL', `${src} shrank while it was read (${got} of ${size} bytes)`);
        got += bytesRead;
      }
      const data = this.buf.subarray(0, size);
      const payload = this.codec.compress(data);
      return { header: { t: 'file', name, size, algo: this.codec.spec.algo, clen: payload.length, sha256: sha256(data) }, payload };
    } finally {
      await fh.close();
    }
  }
}

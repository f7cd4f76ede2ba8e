/**
 * The local end of one file of -B: written under a temp name beside its destination, given the
 * master's mtime, fsynced, and only then renamed into place. So the destination path only ever
 * holds a complete, durable copy with the mtime that copy belongs to: a -B interrupted in the
 * middle of a file (or by a crash of this host) never leaves a torn or unwritten file that the
 * next -B would take for unchanged by its size and mtime. The fsyncs happen while the copy goes
 * on (the largest file is the long pole; small files finish and sync in its shadow), so the
 * final pass over the tree finds little left to write.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { errorCode } from '@pitrtools/core/errors';
import { tempName } from '@pitrtools/core/fs/atomic';
import { openTemp, untrackTemp } from '@pitrtools/core/fs/temp-registry';

/** At most `max` at a time: fsync holds a thread of libuv's pool (4 threads) while the disk works. */
class Limit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await f();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
// Two fsyncs in flight leave the other pool threads to the writes of the files still coming.
const syncing = new Limit(2);
// Measured on the benchmark's 1 GB table: 8 to 128 MiB alike; without it the last fsync waited ~0.5 s.
const WRITE_BEHIND = 32 * 1024 * 1024;

/** A file being received. */
export class IncomingFile {
  private unsynced = 0;
  private flushing: Promise<void> | undefined;
  /** An error of a write-behind flush: Linux may report a failed writeback only once, so it is kept for place(). */
  private flushError: unknown;

  private constructor(
    private readonly fh: FileHandle,
    readonly tmp: string,
    readonly dest: string,
  ) {}

  /** Creates the temp file (0600) for `dest`, tracked until placed or discarded (temp-registry: a SIGINT removes it). */
  static async create(dest: string): Promise<IncomingFile> {
    // core's temp name beside `dest` (leading dot, our pid): the next -B removes leftovers, the master has no such file.
    const tmp = tempName(dirname(dest), basename(dest));
    const fh = await openTemp(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    return new IncomingFile(fh, tmp, dest);
  }

  /** Writes `chunks` back to back at `pos` (positional, so nothing depends on a file offset). */
  async write(chunks: Buffer[], pos: number): Promise<void> {
    await this.writeAll(chunks, pos);
    this.unsynced += chunks.reduce((n, b) => n + b.length, 0);
    // Write-behind: a large file gets its dirty pages flushed every WRITE_BEHIND bytes while the
    // transfer goes on, instead of all of them in the final fsync (the kernel on its own would
    // wait for gigabytes of dirty pages on a machine with much memory).
    if (this.unsynced >= WRITE_BEHIND && !this.flushing) {
      this.unsynced = 0;
      this.flushing = this.fh
        .datasync()
        .catch((e: unknown) => {
          this.flushError ??= e;
        })
        .finally(() => {
          this.flushing = undefined;
        });
    }
  }

  private async writeAll(chunks: Buffer[], pos: number): Promise<void> {
    let bufs = chunks;
    let at = pos;
    for (;;) {
      const { bytesWritten } = await this.fh.writev(bufs, at);
      const total = bufs.reduce((n, b) => n + b.length, 0);
      if (bytesWritten >= total) return;
      // A short write (rare on a local file): go on with what is left.
      at += bytesWritten;
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const b of bufs) {
        if (skip >= b.length) {
          skip -= b.length;
          continue;
        }
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
      bufs = rest;
    }
  }

  /** Sets the mtime (seconds), fsyncs the file and renames it into place. */
  async place(mtime: number): Promise<void> {
    await this.flushing;
    try {
      if (this.flushError !== undefined) throw this.flushError;
      await this.fh.utimes(mtime, mtime);
      await syncing.run(() => this.fh.sync());
      await renameOver(this.tmp, this.dest);
      untrackTemp(this.tmp);
    } catch (err) {
      await this.discard();
      throw err;
    }
    await this.fh.close();
  }

  /** Closes and removes the temp file (after a failure). */
  async discard(): Promise<void> {
    await this.flushing;
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.tmp, { force: true });
    untrackTemp(this.tmp);
  }
}

/** rename(2) over `dest`; a directory in the way (the master replaced one by a file) goes first. */
async function renameOver(tmp: string, dest: string): Promise<void> {
  try {
    await fsp.rename(tmp, dest);
  } catch (err) {
    if (errorCode(err) !== 'EISDIR' && errorCode(err) !== 'ENOTEMPTY' && errorCode(err) !== 'EEXIST') throw err;
    await fsp.rm(dest, { recursive: true, force: true });
    await fsp.rename(tmp, dest);
  }
}

/**
 * The copy engine of -B: `workers` parallel downloads, each on its own SFTP channel; a file's
 * reads are pipelined (several requests in flight, one chunk each, so memory stays bounded);
 * each file goes to a temp name beside its destination and is renamed into place with the
 * master's mtime, so that a later -B can skip it. The largest files start first.
 */
import { posix } from 'node:path';
import { tempName } from '@pitrtools/core/fs/atomic';
import { SshErrorCode, isSshError, type SftpChannel } from '@pitrtools/core/ssh/index';
import { download } from '@pitrtools/core/ssh/sftp-download';
import type { FileJob } from './plan.js';
import { placeFile, removePath } from './local-tree.js';

/** What the engine needs besides the jobs. */
export interface CopyOptions {
  workers: number;
  openChannel: () => Promise<SftpChannel>;
  /** Files modified at or after this master time (s) get mtime 0, so the next -B copies them again. */
  hotSince: number;
  /** --checksum: returns true when the local file already has the master's content. */
  sameContent?: (job: FileJob) => Promise<boolean>;
  /** Bytes arrived (delta). */
  onBytes?: (n: number) => void;
  onFile?: (job: FileJob, outcome: 'copied' | 'same' | 'vanished') => void | Promise<void>;
  /** Rejects when the backup must stop (its database session was lost). */
  abort?: Promise<never>;
}

/** Counts of a finished copy. */
export interface CopyResult {
  copied: number;
  bytes: number;
  same: number;
  vanished: number;
}

const BIG = 8 * 1024 * 1024;

/** Copies every job; the first failure stops all workers and is thrown. */
export async function copyFiles(jobs: readonly FileJob[], o: CopyOptions): Promise<CopyResult> {
  const queue = [...jobs].sort((a, b) => b.size - a.size);
  const result: CopyResult = { copied: 0, bytes: 0, same: 0, vanished: 0 };
  let next = 0;
  let failure: unknown;
  const channels: SftpChannel[] = [];
  const worker = async (): Promise<void> => {
    const ch = await o.openChannel();
    channels.push(ch);
    while (failure === undefined && next < queue.length) {
      const job = queue[next++]!;
      const outcome = await copyOne(ch, job, o);
      if (outcome === 'copied') { result.copied++; result.bytes += job.size; }
      else if (outcome === 'same') result.same++;
      else result.vanished++;
      await o.onFile?.(job, outcome);
    }
  };
  const n = Math.max(1, Math.min(o.workers, queue.length));
  const all = Promise.all(Array.from({ length: n }, () => worker().catch((e: unknown) => {
    failure ??= e;
    for (const ch of channels) ch.end(); // the others stop at their next request
    throw e;
  })));
  try {
    await (o.abort ? Promise.race([all, o.abort]) : all);
  } catch (err) {
    failure ??= err;
    for (const ch of channels) ch.end();
    await all.catch(() => undefined);
    throw failure;
  } finally {
    for (const ch of channels) ch.end();
  }
  return result;
}

/** Copies one file (or finds it unchanged, or gone from the master). */
export async function copyOne(ch: SftpChannel, job: FileJob, o: Pick<CopyOptions, 'hotSince' | 'sameContent' | 'onBytes'>): Promise<'copied' | 'same' | 'vanished'> {
  if (o.sameContent && (await o.sameContent(job))) return 'same';
  const tmp = tempName(posix.dirname(job.local), posix.basename(job.local));
  let done = 0;
  try {
    await download(ch, job.remote, tmp, {
      inFlight: job.size >= BIG ? 16 : 4, fsync: false,
      onProgress: (d) => { o.onBytes?.(d - done); done = d; },
    });
    await placeFile(tmp, job.local, job.mtime >= o.hotSince ? 0 : job.mtime);
    return 'copied';
  } catch (err) {
    await removePath(tmp);
    // Dropped tables, finished temp files: gone on the master since we listed them.
    if (isSshError(err, SshErrorCode.SFTP_NO_SUCH_FILE)) {
      await removePath(job.local);
      return 'vanished';
    }
    throw err;
  }
}

/**
 * Inside a copy worker: each SFTP channel (stream) has its own pool of read buffers and works on
 * several files at once (small files are mostly round trips, and these then overlap). A file's
 * reads are pipelined and its bytes written in order, coalesced (sftp-fetch.ts), to a temp name
 * beside the destination, renamed into place with the master's mtime (incoming-file.ts).
 */
import { SshErrorCode, isSshError, type SftpChannel } from '@pitrtools/core/ssh/index';
import { BufferPool, fetchFile } from '@pitrtools/core/ssh/sftp-fetch';
import type { BlockChannel } from './block-channel.js';
import { BATCH_BLOCKS, BLOCK } from './block-frames.js';
import { hasLocalFile, resyncFile } from './block-resync.js';
import type { FileOutcome, WireJob } from './copy-protocol.js';
import { IncomingFile } from './incoming-file.js';
import { removePath } from './local-tree.js';

/** Hands out the next job; undefined when there is none left. */
export interface JobSource {
  next(): Promise<WireJob | undefined>;
}

/**
 * Batch buffers (1 MiB each) for the files re-synced against a local copy, shared by every stream
 * of this copy: the memory bound of a re-sync, however many files are in flight (block-resync.ts).
 */
const RESYNC_BATCHES = 8;

/** Options of runStreams. */
export interface StreamOptions {
  filesPerStream: number;
  buffersPerStream: number;
  onBytes?: (n: number) => void;
  /** wire: the block sender's bytes for it (absent: over SFTP); againstLocal: it was rebuilt against a local copy. */
  onFile?: (job: WireJob, outcome: FileOutcome, wire?: { bytes: number; againstLocal: boolean }) => void;
  /** Block senders, one per channel (block-channel.ts); none: every file over SFTP. */
  senders?: readonly BlockChannel[];
  /** Every file through the sender (compress is on), not only those with a local copy. */
  senderAlways?: boolean;
}

/**
 * Copies jobs from `source` over `channels` until it runs dry. The first failure ends every
 * stream (their channels are closed, so requests in flight fail at once) and is thrown once
 * every file in progress has been cleaned up.
 */
export async function runStreams(channels: readonly SftpChannel[], source: JobSource, o: StreamOptions): Promise<void> {
  let failure: unknown;
  const slot = async (ch: SftpChannel, pool: BufferPool, sender: BlockChannel | undefined): Promise<void> => {
    try {
      while (failure === undefined) {
        const job = await source.next();
        if (!job || failure !== undefined) return;
        // Through the block sender when it saves bytes: a local copy to compare, or compression.
        if (sender && (o.senderAlways || (await hasLocalFile(job.local)))) {
          const r = await resyncFile(sender, job, { batches, ...(o.onBytes ? { onBytes: o.onBytes } : {}) });
          o.onFile?.(job, r.outcome, { bytes: r.wire, againstLocal: r.againstLocal });
        } else o.onFile?.(job, await copyOne(ch, pool, job, o));
      }
    } catch (err) {
      if (failure !== undefined) return;
      failure = err;
      for (const c of channels) c.end();
      for (const b of o.senders ?? []) b.end();
    }
  };
  const pools = channels.map((ch) => new BufferPool(ch.maxRead, o.buffersPerStream));
  const batches = new BufferPool(BATCH_BLOCKS * BLOCK, RESYNC_BATCHES);
  // Slots ask for jobs in the order they start: the first slot of every stream first, so the
  // largest files (the long poles) go to different streams rather than share one.
  const slots: Promise<void>[] = [];
  for (let k = 0; k < Math.max(1, o.filesPerStream); k++) channels.forEach((ch, i) => slots.push(slot(ch, pools[i]!, o.senders?.[i])));
  await Promise.all(slots);
  if (failure !== undefined) throw failure;
}

/** Copies one file (or finds it gone from the master). */
async function copyOne(ch: SftpChannel, pool: BufferPool, job: WireJob, o: StreamOptions): Promise<FileOutcome> {
  const created = IncomingFile.create(job.local);
  let file: IncomingFile;
  try {
    await fetchFile(ch, job.remote, created, { pool, sizeHint: job.size, ...(o.onBytes ? { onBytes: o.onBytes } : {}) });
    file = await created;
  } catch (err) {
    await (await created.catch(() => undefined))?.discard();
    // Dropped tables, finished temp files: gone on the master since we listed them.
    if (isSshError(err, SshErrorCode.SFTP_NO_SUCH_FILE)) {
      await removePath(job.local);
      return 'vanished';
    }
    throw err;
  }
  await file.place(job.mtime);
  return 'copied';
}

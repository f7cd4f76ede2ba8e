/**
 * Which compression -B uses on the wire and whether it starts the block sender. An old
 * rsync_flags: -z has already become compress when the file was loaded (core's rsync-flags.ts,
 * the same reading and notice as cmd_archiver's).
 */
import { formatCompress, parseCompress } from '@pitrtools/core/compress';
import { splitWords } from '@pitrtools/core/words';
import type { SenderInit } from './copy-protocol.js';

/** The `compress` value -B uses ('none', 'zstd', 'zstd:3', ...). */
export function chooseCompress(config: { compress?: string | undefined }): string {
  return config.compress !== undefined ? formatCompress(parseCompress(config.compress)) : 'none';
}

/**
 * The block sender -B starts, or undefined for SFTP alone (exactly as before there was one):
 * it starts when it can save bytes, i.e. with compression or with a local copy to compare
 * (`resync`: the destination already holds a data directory). Block hashes cost a read of the
 * local copy and of the master's file, which SFTP's size+mtime check skips for unchanged files:
 * only files the walk found changed (or all with --checksum) go through it.
 */
export function senderPlan(masterCmdStandby: string, compress: string, resync: boolean): SenderInit | undefined {
  if (compress === 'none' && !resync) return undefined;
  return { argv: [...splitWords(masterCmdStandby), '--send-files'], compress, always: compress !== 'none' };
}

/**
 * Which compression -B uses on the wire and whether it starts the block sender: the `compress`
 * key; else the old `rsync_flags` with -z (what pitrtools 1.3's how-to set) means zstd.
 */
import { formatCompress, parseCompress } from '@pitrtools/core/compress';
import { splitWords } from '@pitrtools/core/words';
import type { SenderInit } from './copy-protocol.js';

/** Whether rsync flags ask for compression: -z in a cluster of short flags (-az), --compress, --compress-level=N. */
export function rsyncCompresses(flags: string): boolean {
  return splitWords(flags).some((w) => /^-[a-zA-Z]*z[a-zA-Z]*$/.test(w) || /^--compress(-level(=\d+)?)?$/.test(w));
}

/** The `compress` value -B uses ('none', 'zstd', ...); `notice` gets one line when it comes from rsync_flags. */
export function chooseCompress(
  config: { compress?: string | undefined; rsync_flags?: string | undefined; file: string },
  notice: (line: string) => void,
): string {
  if (config.compress !== undefined) return formatCompress(parseCompress(config.compress));
  if (config.rsync_flags !== undefined && rsyncCompresses(config.rsync_flags)) {
    notice(`rsync_flags '${config.rsync_flags}' in ${config.file}: -B compresses with zstd for its -z (set compress in ${config.file} to choose)`);
    return 'zstd';
  }
  return 'none';
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

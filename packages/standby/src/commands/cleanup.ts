/**
 * `--cleanup %r`, our archive_cleanup_command: removes from archivedir the segments no restartpoint
 * needs any more (pg_archivecleanup's rule, see recovery/cleanup-select.ts), so the archive of a
 * standby does not grow forever. Needs no pg_archivecleanup binary.
 */
import { PitrError } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { removeArchived } from '../local/files.js';
import { nodeCleanupFs } from '../restore/node-cleanup-fs.js';
import type { CleanupFs } from '../restore/ports.js';
import { lowerCutoff, walFloor } from '../catalogue/retention.js';
import { listSets } from '../catalogue/sets.js';
import { cleanupCutoff, cleanupVictims } from '../recovery/cleanup-select.js';

/** Options of cleanupArchive. */
export interface CleanupOptions {
  archivedir: string;
  /** %r: the oldest file still needed. */
  restartFile: string;
  /** full_backup: the catalogue's sets keep the WAL they need (docs/backups.md). */
  fullBackup?: string | undefined;
  log?: Logger;
}

/** Removes what precedes %r and the oldest kept backup set's start segment; returns the names removed; `fs` is the disk (a fake in unit tests); throws DIR_NOT_PRIVATE (exit 2) when archivedir is not ours or others can write in it. */
export async function cleanupArchive(o: CleanupOptions, fs: CleanupFs = nodeCleanupFs): Promise<string[]> {
  const cutoff = cleanupCutoff(o.restartFile);
  if (cutoff === undefined) {
    throw new PitrError('BAD_WAL_NAME', `--cleanup: '${o.restartFile}' is not a WAL segment name`);
  }
  await fs.ownDir(o.archivedir, 'archivedir'); // exit 2 unless ours and closed to others
  // Never past the oldest kept backup set's start: a point-in-time recovery from it needs that WAL.
  const floor = o.fullBackup ? walFloor(await listSets(o.fullBackup)) : undefined;
  const victims = cleanupVictims(await fs.list(o.archivedir), lowerCutoff(cutoff, floor));
  await removeArchived(o.archivedir, victims, fs);
  for (const name of victims) o.log?.debug(`cleanup: removed ${name}`);
  return victims;
}

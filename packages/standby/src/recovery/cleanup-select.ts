/**
 * Which archived files `--cleanup %r` removes: pg_archivecleanup's rule. A segment (or a .partial /
 * .backup file of one) goes when its log/segment part, ignoring the timeline (the first 8 hex
 * digits), sorts before %r's: older timelines' files up to that point are no longer needed either.
 * .history files stay: a later promotion or a new standby needs every one of them.
 */
import { walKind } from '@pitrtools/core/wal';

/** The 16 hex digits after the timeline of %r, or undefined when %r is not a WAL file name. */
export function cleanupCutoff(restartFile: string): string | undefined {
  const kind = walKind(restartFile);
  if (kind === undefined || kind === 'history') return undefined;
  return restartFile.slice(8, 24);
}

/** The names among `names` that --cleanup removes for the cut-off of `restartFile`. */
export function cleanupVictims(names: readonly string[], cutoff: string): string[] {
  return names.filter((n) => {
    const kind = walKind(n);
    if (kind === undefined || kind === 'history') return false;
    return n.slice(8, 24) < cutoff;
  });
}

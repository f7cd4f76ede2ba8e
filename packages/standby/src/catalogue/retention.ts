/**
 * keep_backups: which sets go after a new one completed, and which archived WAL no kept set needs.
 * A set needs every segment from its start segment on (backup_label's START WAL LOCATION) up to
 * its stop and then whatever replay to a later point needs, so the archive's floor is the lowest
 * start position among the kept sets. Positions are compared without the timeline (the first 8 hex
 * digits), as pg_archivecleanup does: a segment below the floor is older than every kept backup on
 * every timeline. .history files always stay (tiny, and any later timeline switch needs them).
 */
import { walKind } from '@pitrtools/core/wal';
import type { BackupSetMeta } from './sets.js';

/** The sets to remove so that `keep` remain: the oldest (by label) beyond the newest `keep`. */
export function setsBeyond(sets: readonly BackupSetMeta[], keep: number): BackupSetMeta[] {
  const sorted = [...sets].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return sorted.slice(0, Math.max(0, sorted.length - Math.max(1, keep)));
}

/** The archive's floor: the lowest start position (16 hex digits, timeline dropped) of `kept`; undefined without sets. */
export function walFloor(kept: readonly BackupSetMeta[]): string | undefined {
  let floor: string | undefined;
  for (const s of kept) {
    const pos = s.start_wal.slice(8, 24);
    if (floor === undefined || pos < floor) floor = pos;
  }
  return floor;
}

/** Of the archived `names`, the segments, .partial and .backup files that lie wholly before `floor`. */
export function walBelowFloor(names: readonly string[], floor: string): string[] {
  return names.filter((n) => {
    const kind = walKind(n);
    if (kind === undefined || kind === 'history') return false;
    return n.slice(8, 24) < floor;
  });
}

/** The lower of two cut-offs (16 hex digits): archive cleanup never goes past the catalogue's floor. */
export function lowerCutoff(cutoff: string, floor: string | undefined): string {
  return floor !== undefined && floor < cutoff ? floor : cutoff;
}

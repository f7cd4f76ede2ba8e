/**
 * How far a set can be recovered with the WAL in the archive. Earliest: the set's stop time (the
 * backup is consistent once replay passes its stop LSN, so no target before that). Latest: the
 * modification time of the last segment of the unbroken run of archived segments on the set's
 * timeline that starts at its start segment: the archive holds WAL up to that segment's switch,
 * which happened at the latest then (an upper bound: recovery stops at the last commit in it).
 */
import { walKind } from '@pitrtools/core/wal';
import type { BackupSetMeta } from './sets.js';

/** The segment after `name` on the same timeline (segmentSize bytes per segment). */
export function nextSegment(name: string, segmentSize: number): string {
  const perId = 0x100000000 / segmentSize;
  let log = parseInt(name.slice(8, 16), 16);
  let seg = parseInt(name.slice(16, 24), 16) + 1;
  if (seg >= perId) {
    log++;
    seg = 0;
  }
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');
  return `${name.slice(0, 8)}${hex(log)}${hex(seg)}`;
}

/** The last segment of the unbroken run from the set's start segment among `archived` (names), or undefined when the start itself is missing. */
export function lastOfRun(set: Pick<BackupSetMeta, 'start_wal' | 'wal_segment_size'>, archived: ReadonlySet<string>): string | undefined {
  if (!archived.has(set.start_wal)) return undefined;
  let cur = set.start_wal;
  for (let next = nextSegment(cur, set.wal_segment_size); archived.has(next); next = nextSegment(next, set.wal_segment_size)) cur = next;
  return cur;
}

/** True when the run from the start segment reaches the stop segment: the archive holds what the set needs to become consistent. */
export function hasNeededWal(set: Pick<BackupSetMeta, 'start_wal' | 'stop_wal' | 'wal_segment_size'>, archived: ReadonlySet<string>): boolean {
  const last = lastOfRun(set, archived);
  return last !== undefined && last >= set.stop_wal;
}

/** Archived segment names only (no .history, .backup, .partial). */
export function segmentNames(names: readonly string[]): Set<string> {
  return new Set(names.filter((n) => walKind(n) === 'segment'));
}

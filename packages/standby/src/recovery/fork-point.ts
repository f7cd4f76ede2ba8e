/**
 * Where a timeline ends in another timeline's history, and whether an old master stopped before
 * that point (so it can follow the new master without pg_rewind). The history file's format and
 * the rule are PostgreSQL's: readTimeLineHistory (src/backend/access/transam/timeline.c) and
 * pg_rewind's "no rewind required" test (src/bin/pg_rewind/pg_rewind.c).
 */
import { lsnValue } from './check-report.js';
import { historyProblem } from './wal-file-check.js';

/** One line of a history file: timeline `tli` ended at `switchpoint` (a byte position). */
export interface HistoryEntry {
  tli: number;
  switchpoint: bigint;
}

/** The entries of `TTTTTTTT.history`; throws Error with historyProblem's reason when the text is not one. */
export function parseHistory(name: string, text: string): HistoryEntry[] {
  const problem = historyProblem(name, text);
  if (problem !== undefined) throw new Error(`${name}: ${problem}`);
  const out: HistoryEntry[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*(\d+)\t([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(raw);
    if (m) out.push({ tli: Number(m[1]), switchpoint: lsnValue(m[2]!) });
  }
  return out;
}

/** Where our timeline stands in the new master's history. */
export type ForkVerdict =
  /** Our last checkpoint (a clean shutdown's last record) lies before the fork: start as a standby as is. */
  | { kind: 'no-rewind'; switchpoint?: bigint }
  /** Our WAL went past the fork (or may have: not cleanly shut down): pg_rewind or -B. */
  | { kind: 'diverged'; switchpoint?: bigint; why: string }
  /** Our timeline is not in the new master's history at all. */
  | { kind: 'unrelated'; why: string };

/**
 * Decides for an old master stopped on timeline `ourTli` with its last checkpoint record at
 * `checkpoint` (clean: nothing after it), against a new master on `theirTli` with `history`
 * (the entries of its history file; empty when theirTli is 1).
 */
export function forkVerdict(ourTli: number, checkpoint: bigint, clean: boolean, theirTli: number, history: HistoryEntry[]): ForkVerdict {
  if (ourTli === theirTli) {
    return clean ? { kind: 'no-rewind' } : { kind: 'diverged', why: 'it was not shut down cleanly: WAL after its last checkpoint may not be on the new master' };
  }
  const entry = history.find((e) => e.tli === ourTli);
  if (entry === undefined) return { kind: 'unrelated', why: `its timeline ${ourTli} is not in the history of the new master's timeline ${theirTli}` };
  if (!clean) return { kind: 'diverged', switchpoint: entry.switchpoint, why: 'it was not shut down cleanly: its WAL after the last checkpoint may go past the fork' };
  // The switchpoint is the end of the last record the new master replayed from our timeline; a
  // shutdown checkpoint that starts before it is that record or an earlier one.
  if (checkpoint < entry.switchpoint) return { kind: 'no-rewind', switchpoint: entry.switchpoint };
  return { kind: 'diverged', switchpoint: entry.switchpoint, why: 'its last checkpoint lies after the point where the new master\'s timeline forked' };
}

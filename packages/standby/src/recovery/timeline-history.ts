/**
 * Timeline history files (`0000000N.history`) and the questions asked of them: can this standby
 * follow a master on timeline N, or has it replayed past the point where N forked (--follow)? Did an
 * old master stop before that point, so it can follow without pg_rewind (--rejoin)? Each
 * line of a history file is `parentTLI <tab> switchpoint <tab> reason` (PostgreSQL's
 * src/backend/access/transam/timeline.c): the parent timeline ended at switchpoint, the next began.
 * Pure functions: the I/O is in commands/follow.ts.
 */
import { lsnValue } from './check-report.js';

/** One line of a history file: timeline `tli` ended at `switchpoint` (an LSN). */
export interface HistoryEntry {
  tli: number;
  switchpoint: string;
}

/** The entries of a history file in order; throws TypeError on a line PostgreSQL would refuse. */
export function parseHistory(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\d+)\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(?:\s|$)/.exec(line);
    if (!m) throw new TypeError(`not a timeline history line: ${JSON.stringify(line)}`);
    out.push({ tli: Number(m[1]), switchpoint: m[2]!.toUpperCase() });
  }
  return out;
}

/** Where this standby stands. */
export interface StandbyPosition {
  /** pg_last_wal_replay_lsn() (end of the last replayed record). */
  replayLsn: string;
  /** Timelines in the chain whose segment holding replayLsn is in pg_wal (see follow.ts). */
  timelinesWithSegment: readonly number[];
  /** pg_control_checkpoint().timeline_id: never ahead of the replay timeline. */
  checkpointTli: number;
}

/** The verdict: follow, or why not. */
export type ForkVerdict = { follow: true; tli: number } | { follow: false; tli: number; reason: string };

/**
 * Can a standby at `pos` follow a master on timeline `target` with history `history`? Its replay
 * timeline is the newest of the chain that holds the segment of its replay position (else the
 * checkpoint's); it may follow when that is `target`, or when it has not replayed past the
 * switchpoint where its timeline ended in the history (PostgreSQL's own rule in rescanLatestTimeLine).
 */
export function forkVerdict(pos: StandbyPosition, target: number, history: readonly HistoryEntry[]): ForkVerdict {
  const chain = new Set([...history.map((e) => e.tli), target]);
  const held = pos.timelinesWithSegment.filter((t) => chain.has(t));
  const tli = held.length > 0 ? Math.max(...held) : pos.checkpointTli;
  if (tli === target) return { follow: true, tli };
  const entry = history.find((e) => e.tli === tli);
  if (entry === undefined) {
    return {
      follow: false,
      tli,
      reason: `this standby is on timeline ${tli}, which is not in the history of the new master's timeline ${target} (it forked off elsewhere)`,
    };
  }
  if (lsnValue(pos.replayLsn) > lsnValue(entry.switchpoint)) {
    return {
      follow: false,
      tli,
      reason: `this standby has replayed timeline ${tli} up to ${pos.replayLsn}, past ${entry.switchpoint}, where the new master's timeline forked off it: it holds changes the new master never had`,
    };
  }
  return { follow: true, tli };
}

/** Where our timeline stands in the new master's history. */
export type RejoinVerdict =
  /** Our last checkpoint (a clean shutdown's last record) lies before the fork: start as a standby as is. */
  | { kind: 'no-rewind'; switchpoint?: bigint }
  /** Our WAL went past the fork (or may have: not cleanly shut down): pg_rewind or -B. */
  | { kind: 'diverged'; switchpoint?: bigint; why: string }
  /** Our timeline is not in the new master's history at all. */
  | { kind: 'unrelated'; why: string };

/**
 * --rejoin: decides for an old master stopped on timeline `ourTli` with its last checkpoint record at
 * `checkpoint` (clean: nothing after it), against a new master on `theirTli` with `history`
 * (the entries of its history file; empty when theirTli is 1). The rule is pg_rewind's "no rewind
 * required" test (src/bin/pg_rewind/pg_rewind.c).
 */
export function rejoinVerdict(ourTli: number, checkpoint: bigint, clean: boolean, theirTli: number, history: readonly HistoryEntry[]): RejoinVerdict {
  if (ourTli === theirTli) {
    return clean
      ? { kind: 'no-rewind' }
      : { kind: 'diverged', why: 'it was not shut down cleanly: WAL after its last checkpoint may not be on the new master' };
  }
  const entry = history.find((e) => e.tli === ourTli);
  if (entry === undefined) return { kind: 'unrelated', why: `its timeline ${ourTli} is not in the history of the new master's timeline ${theirTli}` };
  if (!clean)
    return {
      kind: 'diverged',
      switchpoint: lsnValue(entry.switchpoint),
      why: 'it was not shut down cleanly: its WAL after the last checkpoint may go past the fork',
    };
  // The switchpoint is the end of the last record the new master replayed from our timeline; a
  // shutdown checkpoint that starts before it is that record or an earlier one.
  if (checkpoint < lsnValue(entry.switchpoint)) return { kind: 'no-rewind', switchpoint: lsnValue(entry.switchpoint) };
  return { kind: 'diverged', switchpoint: lsnValue(entry.switchpoint), why: "its last checkpoint lies after the point where the new master's timeline forked" };
}

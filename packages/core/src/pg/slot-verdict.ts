/**
 * How much WAL replication slots hold back, judged against two byte limits (pure). A slot keeps
 * every segment from its restart_lsn on; with nobody using it (its standby dead or stopped) that
 * grows without end until the master's disk is full, unless max_slot_wal_keep_size (PostgreSQL 13+)
 * cuts it off (wal_status 'lost': the standby then needs the archive or a new base backup).
 */
import { humanBytes } from '../bytes.js';
import type { SlotInfo } from './slots.js';

/** Byte limits; null = not checked. */
export interface SlotLimits {
  warnBytes: number | null;
  critBytes: number | null;
}

/** 0 OK, 1 WARNING, 2 CRITICAL (Nagios). */
export type SlotState = 0 | 1 | 2;

/** One slot's verdict: the state and, unless OK, why (one phrase naming the slot). */
export interface SlotVerdict {
  name: string;
  state: SlotState;
  why?: string;
}

/** Every slot's verdict, the worst state, and the problems (worst first). */
export interface SlotsJudged {
  state: SlotState;
  verdicts: SlotVerdict[];
  problems: string[];
  /** With `own`: whether that slot exists. */
  ownMissing?: boolean;
}

/** What judgeSlots needs besides the slots. */
export interface JudgeOptions {
  limits: SlotLimits;
  /** This standby's own slot (use_replication_slots): its absence is CRITICAL. */
  own?: string | undefined;
}

/**
 * One slot: wal_status 'lost' is CRITICAL (its WAL is gone); past critBytes CRITICAL; past warnBytes
 * WARNING while active, CRITICAL while inactive (nobody will ever consume what it holds, and it only
 * grows); 'unreserved' (PostgreSQL removes its WAL at the next checkpoint) at least WARNING.
 */
export function judgeSlot(s: SlotInfo, l: SlotLimits): SlotVerdict {
  const held = s.retainedBytes;
  const what = `slot ${s.name} (${s.active ? 'active' : 'inactive'})`;
  if (s.walStatus === 'lost') {
    return {
      name: s.name,
      state: 2,
      why: `${what} has lost WAL its consumer needed (wal_status lost, max_slot_wal_keep_size): that standby needs the archive or a new base backup (-B)`,
    };
  }
  const amount = held === null ? '' : ` holds ${humanBytes(held)} of WAL`;
  if (held !== null && l.critBytes !== null && held >= l.critBytes) {
    return { name: s.name, state: 2, why: `${what}${amount} (critical at ${humanBytes(l.critBytes)})` };
  }
  if (held !== null && l.warnBytes !== null && held >= l.warnBytes) {
    return s.active
      ? { name: s.name, state: 1, why: `${what}${amount} (warning at ${humanBytes(l.warnBytes)})` }
      : {
          name: s.name,
          state: 2,
          why: `${what}${amount} and nobody consumes it (warning at ${humanBytes(l.warnBytes)}; an inactive slot only grows): start its standby or drop the slot`,
        };
  }
  if (s.walStatus === 'unreserved') {
    return { name: s.name, state: 1, why: `${what}${amount}: wal_status unreserved, the next checkpoint removes WAL it needs` };
  }
  return { name: s.name, state: 0 };
}

/** All slots of a server judged; `own` missing is CRITICAL (streaming through it cannot start, and nothing is kept for it). */
export function judgeSlots(slots: readonly SlotInfo[], o: JudgeOptions): SlotsJudged {
  const verdicts = slots.map((s) => judgeSlot(s, o.limits));
  let state: SlotState = 0;
  const problems: Array<{ state: SlotState; why: string }> = [];
  for (const v of verdicts) {
    if (v.state > state) state = v.state;
    if (v.why !== undefined) problems.push({ state: v.state, why: v.why });
  }
  const r: SlotsJudged = { state, verdicts, problems: [] };
  if (o.own !== undefined) {
    r.ownMissing = !slots.some((s) => s.name === o.own);
    if (r.ownMissing) {
      r.state = 2;
      problems.push({
        state: 2,
        why: `this standby's slot ${o.own} does not exist on the master: the master keeps no WAL for it (-A stop, then -S creates it)`,
      });
    }
  }
  r.problems = problems.sort((a, b) => b.state - a.state).map((p) => p.why);
  return r;
}

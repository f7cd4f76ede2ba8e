/**
 * The verdict and the output of --check, from measured facts (pure; commands/check.ts measures).
 * Nagios conventions: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; first line
 * `PITR_STANDBY STATE - text | perfdata`, unknown values as U, detail lines after it.
 *
 * Every lag is measured against the master's current WAL position (pg_current_wal_lsn() through
 * SSH): comparing replay with what this standby has itself received says 0 while the standby is
 * cut off from the master, which is exactly when the check must not say OK.
 */
import { nagiosJson, nagiosResult, nagiosText, type NagiosResult } from '@pitrtools/core/nagios';
import { humanBytes } from '@pitrtools/core/bytes';
import { judgeSlots, type SlotLimits } from '@pitrtools/core/pg/slot-verdict';
import type { SlotInfo } from '@pitrtools/core/pg/slots';

/** The WAL receiver as pg_stat_wal_receiver shows it (streaming standbys only). */
export interface ReceiverFacts {
  /** pg_stat_wal_receiver.status, or 'stopped' when there is no WAL receiver process. */
  status: string;
  /** Seconds it has been in a state other than streaming (from --check's own state); 0 while streaming. */
  downSeconds?: number | undefined;
  /** Seconds since the last message from the master (last_msg_receipt_time). */
  lastMessageAgeSeconds?: number | undefined;
}

/** What --check measured. Byte counts in bytes, times in seconds, LSNs as PostgreSQL prints them. */
export interface CheckFacts {
  running: boolean;
  inRecovery?: boolean;
  /** Replay paused by pg_wal_replay_pause() (-A pause). */
  replayPaused?: boolean | undefined;
  /** pg_get_wal_replay_pause_state(): 'not paused' | 'pause requested' | 'paused' (in recovery only). */
  replayPauseState?: string | undefined;
  /** The master's pg_current_wal_lsn(), when it answered. */
  masterLsn?: string | undefined;
  /** Why the master could not be asked, and for how long that has been so (seconds). */
  masterUnreachable?: { reason: string; seconds: number } | undefined;
  /** End of the WAL this standby has received by streaming (flushed to disk). */
  receiveLsn?: string | undefined;
  replayLsn?: string | undefined;
  /** masterLsn minus receiveLsn (streaming standbys). */
  receiveLagBytes?: number | undefined;
  /** masterLsn minus replayLsn. */
  lagBytes?: number | undefined;
  /** What lagBytes is compared with: always 'master' now (kept for scripts that read it). */
  lagSource?: string;
  /** now - the last replayed transaction, while replay is behind the master; 0 when it is not. */
  lagSeconds?: number | undefined;
  /** Seconds replay has not moved while the master is more than a segment ahead of it. */
  replayStuckSeconds?: number | undefined;
  receiver?: ReceiverFacts | undefined;
  /** The newest replication error in the server log, while the WAL receiver is not streaming. */
  replicationError?: string | undefined;
  /** A segment the master removed although this standby still needs it (from that error). */
  removedSegment?: string | undefined;
  /** With wal_receiver on: whether its supervisor runs. */
  walReceiverRunning?: boolean | undefined;
  /** Seconds since --restore last delivered a segment, and which. */
  restoredAge?: number | undefined;
  restoredSegment?: string | undefined;
  archivedirBytes?: number | undefined;
  /** The master's replication slots (asked with the master's position; also while stopped with use_replication_slots). */
  slots?: SlotInfo[] | undefined;
  /** This standby's own slot name (use_replication_slots), which must be among `slots`. */
  ownSlot?: string | undefined;
  /** Why something could not be measured. */
  notes: string[];
}

/** A warning and a critical limit; null = not checked. */
export interface Limits {
  warn: number | null;
  crit: number | null;
}

/** Thresholds (bytes and seconds). */
export interface CheckThresholds {
  warnBytes: number | null;
  critBytes: number | null;
  warnSeconds: number;
  critSeconds: number;
  /** How long replay may stand still while the master is a segment ahead. */
  stuck: Limits;
  /** How long the WAL receiver of a streaming standby may be down. */
  receiver: Limits;
  /** How long the master may be unreachable for --check. */
  master: Limits;
  /** Age of the newest restored segment (off by default: a streaming standby restores nothing). */
  restored: Limits;
  /** Being a master (not in recovery) is OK, e.g. after a failover. */
  allowPrimary: boolean;
  /** WAL a slot on the master may hold back (check_slot_*_bytes); see core's judgeSlot. */
  slots?: SlotLimits | undefined;
}

/** The verdict. */
export interface CheckReport {
  code: 0 | 1 | 2 | 3;
  status: 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  text: string;
  perfdata: string;
  facts: CheckFacts;
}

const STATUS = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/** 2 when `value` reaches `l.crit`, 1 when it reaches `l.warn`, else 0. */
function level(value: number, l: Limits): 0 | 1 | 2 {
  if (l.crit !== null && value >= l.crit) return 2;
  if (l.warn !== null && value >= l.warn) return 1;
  return 0;
}

/** Applies the thresholds. */
export function evaluateCheck(f: CheckFacts, t: CheckThresholds): CheckReport {
  let code: 0 | 1 | 2 | 3 = 0;
  const raise = (c: 0 | 1 | 2): void => {
    if (c > code) code = c;
  };
  const parts: string[] = [];
  const s = (n: number): string => `${Math.round(n)} s`;
  if (!f.running) {
    raise(2);
    parts.push('the local server is not running');
  } else if (f.inRecovery === false) {
    if (!t.allowPrimary) raise(2);
    parts.push(t.allowPrimary ? 'not in recovery (a master; allowed)' : 'not in recovery: this standby is a master now');
  } else if (f.inRecovery) {
    parts.push(f.replayPaused ? 'in recovery, replay PAUSED' : 'in recovery');
  }
  if (f.replayPaused && f.inRecovery && f.running) {
    // Nothing else would say so: WAL keeps arriving, so the receiver looks healthy while the data ages.
    raise(1);
    parts.push(`replay ${f.replayPauseState ?? 'paused'} (-A pause): WAL arrives but is not applied, the lag grows until cmd_standby -A resume`);
  }
  const standby = f.running && f.inRecovery === true;
  if (f.masterUnreachable && standby) {
    raise(Math.max(1, level(f.masterUnreachable.seconds, t.master)) as 1 | 2);
    parts.push(`master unreachable for ${s(f.masterUnreachable.seconds)} (${f.masterUnreachable.reason}): lag unknown`);
  }
  if (f.removedSegment !== undefined && standby) {
    raise(2);
    parts.push(`the master removed ${f.removedSegment}, which this standby still needs: it needs the segment from an archive or a new base backup (-B)`);
  }
  if (f.receiver && standby) {
    const r = f.receiver;
    if (r.status === 'streaming') {
      parts.push('WAL receiver streaming');
    } else {
      const down = r.downSeconds ?? 0;
      raise(Math.max(1, level(down, t.receiver)) as 1 | 2);
      parts.push(`WAL receiver ${r.status} for ${s(down)}`);
    }
  }
  if (f.walReceiverRunning === false && standby) {
    raise(1);
    parts.push('the WAL receiver (wal_receiver) is not running: cmd_standby -A start or --receive-wal');
  }
  if (f.receiveLagBytes !== undefined) parts.push(`receive lag ${f.receiveLagBytes} B`);
  if (f.lagBytes !== undefined) {
    raise(level(f.lagBytes, { warn: t.warnBytes, crit: t.critBytes }));
    parts.push(`replay lag ${f.lagBytes} B${f.lagSource ? ` (vs ${f.lagSource})` : ''}`);
  } else if (standby && !f.masterUnreachable) {
    parts.push('replay lag in bytes unknown');
  }
  if (f.lagSeconds !== undefined) {
    raise(level(f.lagSeconds, { warn: t.warnSeconds, crit: t.critSeconds }));
    parts.push(`${s(f.lagSeconds)} since the last replayed transaction`);
  }
  if (f.replayStuckSeconds !== undefined && f.replayStuckSeconds > 0 && standby && !f.replayPaused) {
    raise(level(f.replayStuckSeconds, t.stuck));
    parts.push(`replay has not moved for ${s(f.replayStuckSeconds)} while the master is more than a segment ahead`);
  }
  if (f.restoredAge !== undefined) {
    if (standby) raise(level(f.restoredAge, t.restored));
    parts.push(`newest restored segment ${f.restoredSegment ?? '?'} ${s(f.restoredAge)} ago`);
  }
  if (f.archivedirBytes !== undefined) parts.push(`archivedir ${f.archivedirBytes} B`);
  if (f.slots !== undefined) {
    const j = judgeSlots(f.slots, { limits: t.slots ?? { warnBytes: null, critBytes: null }, own: f.ownSlot });
    raise(j.state);
    const own = f.ownSlot === undefined ? undefined : f.slots.find((x) => x.name === f.ownSlot);
    if (own) parts.push(`own slot ${own.name} ${own.active ? 'active' : 'INACTIVE'}, holds ${own.retainedBytes ?? '?'} B`);
    parts.push(...j.problems);
    if (j.problems.length === 0 && f.slots.length > 0) parts.push(`${f.slots.length} slot${f.slots.length === 1 ? '' : 's'} on the master within limits`);
  }
  const v = (n: number | undefined, unit: string): string => (n === undefined ? 'U' : `${Math.round(n)}${unit}`);
  const lim = (n: number | null): string => (n === null ? '' : String(n));
  const perfdata = [
    `'lag_bytes'=${v(f.lagBytes, 'B')};${lim(t.warnBytes)};${lim(t.critBytes)};0`,
    `'lag_seconds'=${v(f.lagSeconds, 's')};${t.warnSeconds};${t.critSeconds};0`,
    `'receive_lag_bytes'=${v(f.receiveLagBytes, 'B')};;;0`,
    `'replay_stuck'=${v(f.replayStuckSeconds, 's')};${lim(t.stuck.warn)};${lim(t.stuck.crit)};0`,
    `'restored_age'=${v(f.restoredAge, 's')};${lim(t.restored.warn)};${lim(t.restored.crit)};0`,
    `'archivedir'=${v(f.archivedirBytes, 'B')};;;0`,
    ...(f.slots !== undefined
      ? [`'slot_retained_max'=${v(maxRetained(f.slots), 'B')};${lim(t.slots?.warnBytes ?? null)};${lim(t.slots?.critBytes ?? null)};0`]
      : []),
  ].join(' ');
  return { code, status: STATUS[code], text: parts.join(', '), perfdata, facts: f };
}

/** The most WAL any slot holds back, bytes (undefined without slots that hold any). */
function maxRetained(slots: readonly SlotInfo[]): number | undefined {
  const held = slots.map((x) => x.retainedBytes).filter((n): n is number => n !== null);
  return held.length === 0 ? undefined : Math.max(...held);
}

/** The verdict as core's one Nagios shape (service PITR_STANDBY): the replication error and the notes are the detail lines. */
export function standbyResult(r: CheckReport): NagiosResult {
  const detail = r.facts.replicationError !== undefined ? [`last replication error in the server log: ${r.facts.replicationError}`] : [];
  return nagiosResult('PITR_STANDBY', r.status, r.text, r.perfdata === '' ? [] : [r.perfdata], [...detail, ...r.facts.notes]);
}

/** The plugin's output lines: `PITR_STANDBY STATE - text | perfdata`, then the detail lines. */
export function renderNagios(r: CheckReport): string {
  return nagiosText(standbyResult(r));
}

/** --check --json: the Nagios keys of both programs (service, state, code, summary, perfdata, details), then the facts. */
export function checkJson(r: CheckReport, extra: object = {}): Record<string, unknown> {
  return nagiosJson(standbyResult(r), { ...extra, ...r.facts });
}

/** An UNKNOWN report for a check that could not run at all. */
export function unknownReport(reason: string): CheckReport {
  return { code: 3, status: 'UNKNOWN', text: reason, perfdata: '', facts: { running: false, notes: [] } };
}

/** Bytes between two LSNs like 0/3000028 (a - b). */
export function lsnDiff(a: string, b: string): number {
  return Number(lsnValue(a) - lsnValue(b));
}

/** An LSN like `0/3000028` as a number of bytes. */
export function lsnValue(l: string): bigint {
  const [hi, lo] = l.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** --status: the same facts for people, the master first, then this standby. `master` names where it was asked. */
export function renderStatus(r: CheckReport, master: string): string {
  const f = r.facts;
  const b = (n: number | undefined): string => (n === undefined ? '?' : `${n} B`);
  const lines = [`${r.status}: ${r.text}`];
  lines.push(
    `master:  ${master}: ${
      f.masterLsn !== undefined
        ? `WAL at ${f.masterLsn}`
        : f.masterUnreachable
          ? `UNREACHABLE for ${Math.round(f.masterUnreachable.seconds)} s: ${f.masterUnreachable.reason}`
          : 'not asked'
    }`,
  );
  if (!f.running) lines.push('standby: the local server is not running');
  else if (f.inRecovery === false) lines.push('standby: not in recovery (a master)');
  else {
    const recv = f.receiver
      ? `; received up to ${f.receiveLsn ?? '?'} (lag ${b(f.receiveLagBytes)}); WAL receiver ${f.receiver.status}`
      : '; archive replay only';
    const secs = f.lagSeconds !== undefined ? `, ${Math.round(f.lagSeconds)} s` : '';
    lines.push(`standby: in recovery${f.replayPaused ? ', replay PAUSED' : ''}; replayed up to ${f.replayLsn ?? '?'} (lag ${b(f.lagBytes)}${secs})${recv}`);
  }
  const restored =
    f.restoredSegment !== undefined ? `newest restored segment ${f.restoredSegment}, ${Math.round(f.restoredAge ?? 0)} s ago` : 'nothing restored yet';
  lines.push(`archive: ${restored}; archivedir ${b(f.archivedirBytes)}`);
  for (const x of f.slots ?? []) {
    const mark = x.name === f.ownSlot ? " (this standby's)" : '';
    lines.push(
      `slot:    ${x.name}${mark}: ${x.type}, ${x.active ? 'active' : 'inactive'}, holds ${x.retainedBytes === null ? 'no WAL' : humanBytes(x.retainedBytes)}${x.walStatus ? `, wal_status ${x.walStatus}` : ''}${x.safeWalSize !== null ? `, safe_wal_size ${humanBytes(x.safeWalSize)}` : ''}`,
    );
  }
  if (f.ownSlot !== undefined && !(f.slots ?? []).some((x) => x.name === f.ownSlot))
    lines.push(`slot:    ${f.ownSlot} (this standby's): ${f.slots ? 'MISSING on the master' : 'not asked'}`);
  if (f.replicationError !== undefined) lines.push(`last replication error: ${f.replicationError}`);
  return [...lines, ...f.notes].join('\n');
}

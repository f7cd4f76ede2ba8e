/**
 * The verdict and the output of --check, from measured facts (pure; commands/check.ts measures).
 * Nagios conventions: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; first line
 * `CMD_STANDBY STATUS - text | perfdata`, unknown values as U.
 */

/** What --check measured. */
export interface CheckFacts {
  running: boolean;
  inRecovery?: boolean;
  /** Replay lag in bytes; undefined when unknown. */
  lagBytes?: number | undefined;
  /** Where lagBytes comes from, e.g. 'received WAL' or 'master'. */
  lagSource?: string;
  /** now - last replayed transaction, seconds; undefined when none was replayed yet. */
  lagSeconds?: number | undefined;
  /** Seconds since --restore last delivered a segment, and which. */
  restoredAge?: number | undefined;
  restoredSegment?: string | undefined;
  archivedirBytes?: number | undefined;
  /** Why something could not be measured. */
  notes: string[];
}

/** Thresholds. */
export interface CheckThresholds {
  warnBytes: number | null;
  critBytes: number | null;
  warnSeconds: number;
  critSeconds: number;
  /** Being a master (not in recovery) is OK, e.g. after a failover. */
  allowPrimary: boolean;
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

/** Applies the thresholds. */
export function evaluateCheck(f: CheckFacts, t: CheckThresholds): CheckReport {
  let code: 0 | 1 | 2 | 3 = 0;
  const raise = (c: 1 | 2): void => { if (c > code) code = c; };
  const parts: string[] = [];
  if (!f.running) {
    raise(2);
    parts.push('the local server is not running');
  } else if (f.inRecovery === false) {
    if (!t.allowPrimary) raise(2);
    parts.push(t.allowPrimary ? 'not in recovery (a master; allowed)' : 'not in recovery: this standby is a master now');
  } else {
    parts.push('in recovery');
  }
  if (f.lagBytes !== undefined) {
    if (t.critBytes !== null && f.lagBytes >= t.critBytes) raise(2);
    else if (t.warnBytes !== null && f.lagBytes >= t.warnBytes) raise(1);
    parts.push(`replay lag ${f.lagBytes} B${f.lagSource ? ` (vs ${f.lagSource})` : ''}`);
  } else if (f.running && f.inRecovery) {
    parts.push('replay lag in bytes unknown');
  }
  if (f.lagSeconds !== undefined) {
    if (f.lagSeconds >= t.critSeconds) raise(2);
    else if (f.lagSeconds >= t.warnSeconds) raise(1);
    parts.push(`${Math.round(f.lagSeconds)} s since the last replayed transaction`);
  }
  if (f.restoredAge !== undefined) parts.push(`newest restored segment ${f.restoredSegment ?? '?'} ${Math.round(f.restoredAge)} s ago`);
  if (f.archivedirBytes !== undefined) parts.push(`archivedir ${f.archivedirBytes} B`);
  const v = (n: number | undefined, unit: string): string => (n === undefined ? 'U' : `${Math.round(n)}${unit}`);
  const lim = (n: number | null): string => (n === null ? '' : String(n));
  const perfdata = [
    `'lag_bytes'=${v(f.lagBytes, 'B')};${lim(t.warnBytes)};${lim(t.critBytes)};0`,
    `'lag_seconds'=${v(f.lagSeconds, 's')};${t.warnSeconds};${t.critSeconds};0`,
    `'restored_age'=${v(f.restoredAge, 's')};;;0`,
    `'archivedir'=${v(f.archivedirBytes, 'B')};;;0`,
  ].join(' ');
  return { code, status: STATUS[code], text: parts.join(', '), perfdata, facts: f };
}

/** The plugin's output lines. */
export function renderNagios(r: CheckReport): string {
  return [`CMD_STANDBY ${r.status} - ${r.text} | ${r.perfdata}`, ...r.facts.notes].join('\n');
}

/** An UNKNOWN report for a check that could not run at all. */
export function unknownReport(reason: string): CheckReport {
  return { code: 3, status: 'UNKNOWN', text: reason, perfdata: '', facts: { running: false, notes: [] } };
}

/** Bytes between two LSNs like 0/3000028 (a - b). */
export function lsnDiff(a: string, b: string): number {
  const n = (l: string): bigint => {
    const [hi, lo] = l.split('/');
    return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
  };
  return Number(n(a) - n(b));
}

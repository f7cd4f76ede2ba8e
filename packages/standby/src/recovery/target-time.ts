/**
 * Recovery target timestamps (-R). The local server is stopped when we need to check one, so we
 * cannot ask PostgreSQL: this accepts the common subset of its timestamp syntax and computes the
 * instant, so that -R can compare it with the copy's backup start time before starting anything.
 */

/** A timestamp as given, checked, and its instant when it can be known. */
export interface TargetTime {
  /** The text handed to PostgreSQL (recovery_target_time), normalised to `YYYY-MM-DD HH:MM:SS[.f][ zone]`. */
  text: string;
  /** Milliseconds since the epoch. */
  epochMs: number;
  /** True when no zone was given: PostgreSQL reads it in the server's `timezone`, we in the local one. */
  zoneAssumed: boolean;
}

/** An example for error messages. */
export const TARGET_TIME_EXAMPLE = "'2026-05-28 11:00:38.059389+02' (or without a zone: '2026-05-28 11:00:38')";

// Abbreviations with a fixed offset in PostgreSQL's Default set that people actually type; others
// can be written as a numeric offset or an IANA zone name.
const ABBREVIATIONS: Record<string, number> = {
  UTC: 0, UT: 0, GMT: 0, Z: 0, ZULU: 0, WET: 0, WEST: 60, BST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120,
  EET: 120, EEST: 180, MSK: 180, EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360,
  PST: -480, PDT: -420, AKST: -540, AKDT: -480, HST: -600, JST: 540, KST: 540, AEST: 600, AEDT: 660,
  NZST: 720, NZDT: 780,
};

const RE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(.*)$/;

/** Parses a timestamp; returns an error sentence (to follow "-R: ") when it is not one. */
export function parseTargetTime(input: string, localOffsetMin?: (utcMs: number) => number): TargetTime | { error: string } {
  const s = input.trim();
  const m = RE.exec(s);
  if (!m) return { error: `'${input}' is not a timestamp; write it like ${TARGET_TIME_EXAMPLE}` };
  const [y, mo, d, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const frac = m[7] ?? '';
  const zone = (m[8] ?? '').trim();
  const daysIn = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysIn || h > 23 || mi > 59 || sec > 59) {
    return { error: `'${input}' is not a valid date and time; write it like ${TARGET_TIME_EXAMPLE}` };
  }
  const wallMs = Date.UTC(y!, mo! - 1, d!, h, mi, sec) + Math.floor(Number(`0.${frac || '0'}`) * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const base = `${m[1]}-${m[2]}-${m[3]} ${pad(h)}:${pad(mi)}:${pad(sec)}${frac ? `.${frac}` : ''}`;
  if (zone === '') {
    const off = (localOffsetMin ?? systemOffsetMin)(wallMs);
    return { text: base, epochMs: wallMs - off * 60_000, zoneAssumed: true };
  }
  const offset = zoneOffset(zone, wallMs);
  if (offset === undefined) {
    return { error: `'${zone}' in '${input}' is not a time zone we know; use a numeric offset (+02, -05:30) or a zone name (Europe/Berlin)` };
  }
  return { text: `${base}${/^[+-]/.test(zone) ? '' : ' '}${zone}`, epochMs: wallMs - offset * 60_000, zoneAssumed: false };
}

/** Offset in minutes east of UTC of a zone at the given wall-clock time, or undefined. */
function zoneOffset(zone: string, wallMs: number): number | undefined {
  const num = /^([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(zone);
  if (num) {
    const v = Number(num[2]) * 60 + Number(num[3] ?? 0);
    return v > 15 * 60 ? undefined : num[1] === '-' ? -v : v;
  }
  const abbr = ABBREVIATIONS[zone.toUpperCase()];
  if (abbr !== undefined) return abbr;
  if (!/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)+$/.test(zone)) return undefined;
  try {
    // Two rounds find the offset in force at that wall-clock time (DST edges included).
    let off = ianaOffsetMin(zone, wallMs);
    off = ianaOffsetMin(zone, wallMs - off * 60_000);
    return off;
  } catch {
    return undefined;
  }
}

/** Offset in minutes of an IANA zone at an instant (throws RangeError for an unknown zone). */
function ianaOffsetMin(zone: string, utcMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

function systemOffsetMin(wallMs: number): number {
  const guess = new Date(wallMs);
  return -new Date(wallMs + guess.getTimezoneOffset() * 60_000).getTimezoneOffset();
}

/** START TIME of a backup_label (`START TIME: 2026-05-28 11:00:38 UTC`), as an instant. */
export function backupLabelStartTime(label: string): { text: string; epochMs: number } | undefined {
  const m = /^START TIME: (.+)$/m.exec(label);
  if (!m) return undefined;
  const t = parseTargetTime(m[1]!);
  return 'error' in t || t.zoneAssumed ? undefined : { text: m[1]!, epochMs: t.epochMs };
}

/**
 * Recovery target timestamps (-R). We must read a target exactly as PostgreSQL will, before its
 * server runs: a zone-less time in the server's `timezone` setting (not our process's TZ), with
 * PostgreSQL's rule at a daylight-saving change; and we write recovery_target_time as that instant
 * with a numeric offset, a form PostgreSQL reads the same way in every zone and at start-up (where
 * abbreviations such as Z, CEST, JST are refused: the abbreviation table is not loaded yet).
 */

/** A zone: its name for messages and its offset (seconds east of UTC) at an instant. */
export interface Zone {
  name: string;
  offsetSec(utcMs: number): number;
}

/** -R as typed, checked for syntax: a wall-clock time and the zone given with it, if any. */
export interface TargetInput {
  input: string;
  /** `YYYY-MM-DD HH:MM:SS[.ffffff]`, the wall-clock time as typed. */
  wall: string;
  /** The wall-clock time read as if it were UTC, in ms (sub-ms digits only in `wall`). */
  wallMs: number;
  /** The zone given with the time; undefined: PostgreSQL reads it in the server's timezone. */
  zone: Zone | undefined;
}

/** A target resolved to an instant, and the text written as recovery_target_time. */
export interface TargetTime {
  input: string;
  /** `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`: the same instant for PostgreSQL in any zone. */
  text: string;
  /** Milliseconds since the epoch. */
  epochMs: number;
  /** The zone the wall-clock time was read in. */
  zoneName: string;
  /** True when no zone was given and the server's timezone was used. */
  zoneAssumed: boolean;
}

/** An example for error messages. */
export const TARGET_TIME_EXAMPLE =
  "'2026-05-28 11:00:38.059389+02', '2026-05-28 11:00:38 Europe/Berlin' or, read in the server's timezone, '2026-05-28 11:00:38'";

const RE = /^(\d{4})-(\d{2})-(\d{2})(?:(?:[ ]+|T)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(.*)$/;
const NUMERIC = /^([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$/;

/** Parses -R's timestamp (syntax and zone only); returns an error sentence (to follow "-R: ") when PostgreSQL would not read it as we do. */
export function parseTargetTime(input: string): TargetInput | { error: string } {
  const s = input.trim();
  const m = RE.exec(s);
  if (!m) return { error: `'${input}' is not a timestamp; write it like ${TARGET_TIME_EXAMPLE}` };
  const [y, mo, d, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const frac = m[7] ?? '';
  const zoneText = (m[8] ?? '').trim();
  const date = new Date(0);
  date.setUTCFullYear(y!, mo! - 1, d); // not Date.UTC: it maps years 0-99 to 1900-1999
  if (y! < 1 || mo! < 1 || mo! > 12 || d! < 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) {
    return { error: `'${input}' is not a valid date and time; write it like ${TARGET_TIME_EXAMPLE}` };
  }
  const wallMs = date.getTime() + ((h * 60 + mi) * 60 + sec) * 1000 + Math.floor(Number(`0.${frac || '0'}`) * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const wall = `${m[1]}-${m[2]}-${m[3]} ${pad(h)}:${pad(mi)}:${pad(sec)}${frac ? `.${frac}` : ''}`;
  if (zoneText === '') return { input, wall, wallMs, zone: undefined };
  const zone = targetZone(zoneText);
  if ('error' in zone) return { error: `'${zoneText}' in '${input}': ${zone.error}; write it like ${TARGET_TIME_EXAMPLE}` };
  return { input, wall, wallMs, zone };
}

/**
 * The zone written with a target: a numeric offset, Z/UTC/GMT, or an IANA name with a region
 * (Europe/Berlin). Letter-only names are refused: PostgreSQL refuses abbreviations (CEST, JST) in
 * recovery_target_time, and reads the few that are also zone files (CET, EST5EDT) as zones with
 * summer time at start-up, where SQL reads them as fixed offsets.
 */
function targetZone(text: string): Zone | { error: string } {
  if (NUMERIC.test(text)) return numericZone(text) ?? { error: 'an offset must be at most 15:59:59' };
  if (/^(?:z|utc|gmt)$/i.test(text)) return fixedZone(text.toUpperCase(), 0);
  if (!text.includes('/')) {
    return {
      error:
        'abbreviations are ambiguous (CST is US Central, China or Cuba) and PostgreSQL refuses them in recovery_target_time; use a numeric offset (+02, -05:30) or a full zone name (Europe/Berlin)',
    };
  }
  return ianaZone(text) ?? { error: 'is not a time zone name we know' };
}

/** ±HH[[:]MM[[:]SS]] (ISO 8601 sign: + is east of UTC), within PostgreSQL's limit of 15:59:59. */
function numericZone(text: string): Zone | undefined {
  const m = NUMERIC.exec(text);
  if (!m) return undefined;
  const [hh, mm, ss] = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
  if (hh > 15 || mm > 59 || ss > 59) return undefined;
  return fixedZone(text, (m[1] === '-' ? -1 : 1) * (hh * 3600 + mm * 60 + ss));
}

function fixedZone(name: string, sec: number): Zone {
  return { name, offsetSec: () => sec };
}

/** An IANA zone through Intl (Node's ICU time zone data), or undefined when it does not know it. */
function ianaZone(name: string): Zone | undefined {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return undefined;
  }
  return {
    name,
    offsetSec(utcMs: number): number {
      const whole = Math.floor(utcMs / 1000) * 1000;
      const parts = fmt.formatToParts(new Date(whole));
      const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
      const year = parts.find((p) => p.type === 'era')?.value === 'BC' ? 1 - get('year') : get('year');
      const asUtc = new Date(0);
      asUtc.setUTCFullYear(year, get('month') - 1, get('day'));
      asUtc.setUTCHours(get('hour'), get('minute'), get('second'));
      return Math.round((asUtc.getTime() - whole) / 1000);
    },
  };
}

/**
 * The server's `timezone` setting as `postgres -C timezone` prints it: an IANA name, a number of
 * hours (+ east, as SET TIME ZONE), or a POSIX TZ string without summer-time rules (`UTC+3`,
 * `<+03>-03`: + is WEST there). Anything else (a POSIX rule with summer time, `interval '...'`,
 * `localtime`) is refused with the reason. Rules: PostgreSQL's check_timezone (commands/variable.c).
 */
export function serverZone(value: string): Zone | { error: string } {
  const v = value.trim();
  const hours = /^[+-]?\d+(?:\.\d+)?$/.test(v) ? Number(v) : undefined;
  if (hours !== undefined) {
    return Math.abs(hours) <= 15 ? fixedZone(v, Math.round(hours * 3600)) : { error: `timezone '${value}' is out of range` };
  }
  const iana = ianaZone(v);
  if (iana) return iana;
  const posix = /^(?:<[A-Za-z0-9+-]+>|[A-Za-z]{3,})([+-]?)(\d{1,2})(?::(\d{2})(?::(\d{2}))?)?$/.exec(v);
  if (posix) {
    const sec = Number(posix[2]) * 3600 + Number(posix[3] ?? 0) * 60 + Number(posix[4] ?? 0);
    return fixedZone(v, posix[1] === '-' ? sec : -sec);
  }
  return {
    error: `the server's timezone '${value}' is not a zone name, a number of hours or a POSIX zone without summer time, which are the forms pitrtools can read`,
  };
}

/**
 * The instant of a target, the zone-less one read in `server` (the server's timezone). At a
 * summer-time change PostgreSQL takes, of the two offsets around it, the one that gives the later
 * instant: for a time skipped the offset before the change, for a time repeated the one after
 * (DetermineTimeZoneOffsetInternal in utils/adt/datetime.c). Throws TypeError when no zone is known.
 */
export function resolveTarget(t: TargetInput, server?: Zone): TargetTime {
  const zone = t.zone ?? server;
  if (zone === undefined) throw new TypeError(`no zone to read '${t.input}' in`);
  const off = wallOffset(zone, t.wallMs);
  return {
    input: t.input,
    text: `${t.wall}${formatOffset(off)}`,
    epochMs: t.wallMs - off * 1000,
    zoneName: zone.name,
    zoneAssumed: t.zone === undefined,
  };
}

/** Offset (seconds) PostgreSQL uses for a wall-clock time in a zone. */
function wallOffset(zone: Zone, wallMs: number): number {
  const day = 86_400_000;
  const candidates = [...new Set([zone.offsetSec(wallMs - day), zone.offsetSec(wallMs + day), zone.offsetSec(wallMs)])];
  const valid = candidates.filter((o) => zone.offsetSec(wallMs - o * 1000) === o);
  const pool = valid.length > 0 ? valid : candidates;
  return Math.min(...pool); // the smallest offset gives the latest instant
}

/** ±HH, ±HH:MM or ±HH:MM:SS, as PostgreSQL prints offsets. */
export function formatOffset(sec: number): string {
  const a = Math.abs(sec);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const [h, m, s] = [Math.floor(a / 3600), Math.floor((a % 3600) / 60), a % 60];
  return `${sec < 0 ? '-' : '+'}${pad(h)}${m || s ? `:${pad(m)}` : ''}${s ? `:${pad(s)}` : ''}`;
}

/** When a backup started, as the earliest and latest instant its text allows (equal when unambiguous). */
export interface StartBounds {
  text: string;
  earliestMs: number;
  latestMs: number;
}

// Offsets in use anywhere, from -12:00 to +14:00: the instant of a wall-clock time in an unknown zone lies in between.
const MIN_OFFSET_S = -12 * 3600;
const MAX_OFFSET_S = 14 * 3600;

/**
 * START TIME of a backup_label. PostgreSQL writes log_timezone's abbreviation there, and the same
 * letters can name different offsets (CST: -06 in Chicago, +08 in Shanghai): only UTC, GMT and a
 * numeric abbreviation (`+03`) give one instant; any other gives the range of all offsets.
 */
export function backupLabelStart(label: string): StartBounds | undefined {
  const m = /^START TIME: (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (\S+)$/m.exec(label);
  if (!m) return undefined;
  const [wall, abbr] = [m[1]!, m[2]!];
  const text = `${wall} ${abbr}`;
  const exact = /^(?:UTC|GMT|[+-]\d{2}(?::?\d{2})?)$/.test(abbr) ? parseTargetTime(`${wall}${/^[+-]/.test(abbr) ? '' : ' '}${abbr}`) : undefined;
  if (exact !== undefined && !('error' in exact)) {
    const at = resolveTarget(exact).epochMs;
    return { text, earliestMs: at, latestMs: at };
  }
  const t = parseTargetTime(wall);
  if ('error' in t) return undefined;
  return { text, earliestMs: t.wallMs - MAX_OFFSET_S * 1000, latestMs: t.wallMs - MIN_OFFSET_S * 1000 };
}

/** START WAL LOCATION of a backup_label (`0/2000028`), or undefined. */
export function backupLabelStartLsn(label: string): string | undefined {
  return /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/im.exec(label)?.[1]?.toUpperCase();
}

/**
 * Reading typed values out of ini text. Each parser returns either a value or an error
 * message phrased to follow "key 'x': " (the loader adds file, line and key).
 */
import { posix } from 'node:path';
import type { KeySpec } from './schema.js';

/** The outcome of parsing one value. */
export type Parsed<T> = { readonly value: T } | { readonly error: string };

/** What values depend on outside the file. */
export interface ConfigEnv {
  /** Expands `~/` in paths. */
  readonly home: string;
  /** Default of cmd_archiver's `user`. */
  readonly username: string;
}

const TRUE = new Set(['on', 'yes', 'true', '1']);
const FALSE = new Set(['off', 'no', 'false', '0']);

/** on/off, yes/no, true/false, 1/0 in any case, like ConfigParser.getboolean. */
export function parseBool(text: string): Parsed<boolean> {
  const t = text.trim().toLowerCase();
  if (TRUE.has(t)) return { value: true };
  if (FALSE.has(t)) return { value: false };
  return { error: `'${text}' is not a boolean (use on/off, yes/no, true/false or 1/0)` };
}

/** A plain decimal integer. */
export function parseInteger(text: string): Parsed<number> {
  const t = text.trim();
  const n = Number(t);
  if (!/^[+-]?\d+$/.test(t) || !Number.isSafeInteger(n)) return { error: `'${text}' is not a whole number (e.g. 4)` };
  return { value: n };
}

// 1024-based, as PostgreSQL's memory units; the KiB spellings are accepted too.
const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** A size: bytes, or a number with kB/MB/GB/TB (1024-based); 'unlimited' or -1 give null (no limit). */
export function parseBytes(text: string): Parsed<number | null> {
  const t = text.trim();
  if (/^(unlimited|-1)$/i.test(t)) return { value: null };
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(t);
  const factor = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) {
    return { error: `'${text}' is not a size (e.g. 16MB, 1GB, 512kB, or unlimited)` };
  }
  return { value: Math.round(Number(m[1]) * factor) };
}

// Factors in milliseconds, so that the result is exact to the millisecond.
const SECOND_UNITS: Record<string, number> = { ms: 1, '': 1000, s: 1000, sec: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: seconds, or a number with ms/s/min/h/d (PostgreSQL's units). Returns seconds. */
export function parseSeconds(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const factor = m ? SECOND_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) return { error: `'${text}' is not a number of seconds (e.g. 10, 30s, 2min)` };
  return { value: Math.round(Number(m[1]) * factor) / 1000 };
}

/**
 * Items separated by `sep`; blanks trimmed, empty items dropped. A line break (a
 * continuation line) separates items too, so long lists can be wrapped.
 */
export function parseList(text: string, sep: ',' | ':' = ','): string[] {
  return text
    .split(sep === ',' ? /[,\n]/ : /[:\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** An absolute path with `~` / `~/` expanded to `home`; normalised, no trailing slash. */
export function parsePath(text: string, home: string, example?: string): Parsed<string> {
  const eg = example !== undefined ? `, e.g. ${example}` : '';
  let p = text.trim();
  if (p === '~' || p.startsWith('~/')) p = home + p.slice(1);
  else if (p.startsWith('~')) return { error: `'${text}': only ~/ is expanded, not ~user (write the full path${eg})` };
  if (!posix.isAbsolute(p)) return { error: `'${text}' is not an absolute path (write it from /${eg})` };
  const n = posix.normalize(p);
  return { value: n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n };
}

/** Parses `text` as the spec says, including enum values and min/max. */
export function parseValue(spec: KeySpec, text: string, env: ConfigEnv): Parsed<unknown> {
  switch (spec.type) {
    case 'string':
    case 'command':
      return { value: text };
    case 'bool':
      return parseBool(text);
    case 'int':
      return inRange(spec, text, parseInteger(text), '');
    case 'bytes':
      return inRange(spec, text, parseBytes(text), ' bytes');
    case 'seconds':
      return inRange(spec, text, parseSeconds(text), 's');
    case 'list':
      return { value: parseList(text, spec.separator) };
    case 'path':
      return parsePath(text, env.home, spec.example);
    case 'paths': {
      const out: string[] = [];
      const example = spec.example !== undefined ? parseList(spec.example, spec.separator)[0] : undefined;
      for (const item of parseList(text, spec.separator)) {
        const p = parsePath(item, env.home, example);
        if ('error' in p) return p;
        out.push(p.value);
      }
      return { value: out };
    }
    case 'enum': {
      const t = text.trim().toLowerCase();
      const values = spec.values ?? [];
      if (values.includes(t)) return { value: t };
      return { error: `'${text}' is not one of: ${values.join(', ')}` };
    }
  }
}

function inRange(spec: KeySpec, text: string, r: Parsed<number | null>, unit: string): Parsed<number | null> {
  if ('error' in r || r.value === null) return r;
  if (spec.min !== undefined && r.value < spec.min) return { error: `'${text}' is below the minimum of ${spec.min}${unit}` };
  if (spec.max !== undefined && r.value > spec.max) return { error: `'${text}' is above the maximum of ${spec.max}${unit}` };
  return r;
}

/**
 * Turning the raw entries of one section into typed values, key by key, as the schema says:
 * interpolation, parsing, defaults, checks, and notices for keys kept for compatibility.
 */
import { ConfigError } from '../errors.js';
import { splitWords } from '../words.js';
import { ConfigCode } from './codes.js';
import { DEFAULT_SECTION, type IniDocument } from './ini.js';
import { interpolatedValue, lookupEntry } from './interpolate.js';
import type { CheckResult, KeySpec, Notice } from './schema.js';
import { parseValue, type ConfigEnv } from './values.js';

/** Typed values of one section and the lines they came from. */
export interface SectionValues {
  values: Record<string, unknown>;
  /** Line of each key set in the section itself (for DEFAULT: in DEFAULT). */
  sources: Record<string, number>;
}

/** Where a key is set, for messages: " in [x]" outside DEFAULT. */
export const inSection = (section: string): string => (section === DEFAULT_SECTION ? '' : `in [${section}]: `);

/**
 * Reads `specs` through `section` (own value, else DEFAULT's, interpolated in this section).
 * An empty value counts as not set, as 1.3 treated an empty notify_* as "no hook".
 */
export function readKeys(doc: IniDocument, section: string, specs: readonly KeySpec[], env: ConfigEnv, notices: Notice[]): SectionValues {
  const values: Record<string, unknown> = {};
  const sources: Record<string, number> = {};
  const headerLine = doc.sections.get(section)?.line;
  for (const spec of specs) {
    const entry = lookupEntry(doc, section, spec.name);
    if (spec.legacy?.kind === 'ignored') {
      if (entry) notices.push(legacyNotice(spec, entry.value));
      continue;
    }
    if (entry?.section === section) sources[spec.name] = entry.line;
    const text = interpolatedValue(doc, section, spec.name);
    if (text === undefined || text.trim() === '') {
      if (spec.required) {
        const eg = spec.example !== undefined ? `add e.g. \`${spec.name}: ${spec.example}\` to [${section}]` : `set it in [${section}]`;
        throw new ConfigError(ConfigCode.MISSING_KEY, doc.file, `required but ${entry ? 'empty' : 'not set'} (${eg})`, {
          key: spec.name,
          ...(entry ? { line: entry.line } : headerLine !== undefined ? { line: headerLine } : {}),
        });
      }
      values[spec.name] = defaultValue(spec, env);
      continue;
    }
    const fail = (message: string): never => {
      throw new ConfigError(ConfigCode.BAD_VALUE, doc.file, `${inSection(entry!.section)}${message}`, { line: entry!.line, key: spec.name });
    };
    const parsed = parseValue(spec, text, env);
    if ('error' in parsed) fail(parsed.error);
    const value = (parsed as { value: unknown }).value;
    if (spec.type === 'command') {
      try {
        splitWords(value as string);
      } catch (err) {
        fail(`cannot be split into words: ${(err as Error).message}`);
      }
    }
    const checked: CheckResult = spec.check ? (spec.check as (v: unknown) => CheckResult)(value) : undefined;
    if (checked && 'error' in checked) fail(checked.error);
    if (checked && 'warning' in checked) notices.push({ level: 'warning', message: checked.warning });
    values[spec.name] = value;
  }
  return { values, sources };
}

/** A default from the schema: ini text parsed like a value, or a dynamic one. */
export function defaultValue(spec: KeySpec, env: ConfigEnv): unknown {
  if (spec.defaultFrom && 'env' in spec.defaultFrom) return env.username;
  if (spec.default === undefined) return undefined; // defaultFrom a key: filled in by the caller
  const parsed = parseValue(spec, spec.default, env);
  if ('error' in parsed) throw new Error(`schema bug: default of ${spec.name}: ${parsed.error}`);
  return parsed.value;
}

function legacyNotice(spec: KeySpec, value: string): Notice {
  const legacy = spec.legacy;
  if (legacy?.kind !== 'ignored') throw new Error(`schema bug: ${spec.name} is not ignored`);
  const warning = legacy.warn?.(value);
  if (warning !== undefined) return { level: 'warning', message: warning }; // a value that changes behaviour: every run
  return {
    level: legacy.level ?? 'debug',
    ignoredKey: spec.name,
    message: `key ${spec.name} has no effect${legacy.since !== undefined ? ` since ${legacy.since}` : ''}: ${legacy.reason}`,
  };
}

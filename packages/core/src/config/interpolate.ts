/**
 * `%(name)s` interpolation with the rules of Python 2's ConfigParser, which the original used:
 * a value without `%(` is returned exactly as written (so `date +%s` or `90% full` in an old
 * notify command keeps working); a value with `%(` is expanded: names are looked up in the same
 * section, then in DEFAULT (a DEFAULT value read through a section sees that section's keys),
 * `%%` is a literal '%', a lone '%' is an error, and references nest up to 10 deep.
 */
import { ConfigError } from '../errors.js';
import { ConfigCode } from './codes.js';
import { DEFAULT_SECTION, type IniDocument, type IniEntry } from './ini.js';
import { didYouMean } from './suggest.js';

/** Python's MAX_INTERPOLATION_DEPTH. */
export const MAX_INTERPOLATION_DEPTH = 10;

/** The entry `key` has when read through `section`: the section's own, else DEFAULT's. */
export function lookupEntry(doc: IniDocument, section: string, key: string): IniEntry | undefined {
  return doc.sections.get(section)?.entries.get(key) ?? doc.sections.get(DEFAULT_SECTION)?.entries.get(key);
}

/** The value of `key` read through `section`, with every %(name)s replaced; undefined if unset. */
export function interpolatedValue(doc: IniDocument, section: string, key: string): string | undefined {
  const entry = lookupEntry(doc, section, key);
  return entry === undefined ? undefined : expand(doc, section, entry, [entry.key]);
}

function expand(doc: IniDocument, section: string, entry: IniEntry, chain: string[]): string {
  const fail = (message: string): never => {
    const via = chain.length > 1 ? ` (reached from key '${chain[0]}' via ${chain.join(' -> ')})` : '';
    throw new ConfigError(ConfigCode.INTERPOLATION, doc.file, `${message}${via}`, { line: entry.line, key: entry.key });
  };
  const raw = entry.value;
  // Python 2 ConfigParser only runs `value % vars` when the value contains '%('.
  if (!raw.includes('%(')) return raw;
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const pct = raw.indexOf('%', i);
    if (pct < 0) break;
    out += raw.slice(i, pct);
    const next = raw[pct + 1];
    if (next === '%') {
      out += '%';
      i = pct + 2;
      continue;
    }
    if (next !== '(') {
      fail(`'%' must be followed by '%' or '(' in '${raw}' (write %% for a literal %)`);
    }
    const m = /^%\(([^)]*)\)s/.exec(raw.slice(pct));
    if (!m) fail(`bad interpolation syntax in '${raw}' (write %(name)s, or %% for a literal %)`);
    const name = m![1]!.trim().toLowerCase();
    const target = lookupEntry(doc, section, name);
    if (!target) {
      const known = [...keysVisible(doc, section)];
      const hint = didYouMean(name, known);
      const where = section === DEFAULT_SECTION ? '[DEFAULT]' : `[${section}] or [DEFAULT]`;
      fail(`%(${name})s names no key set in ${where}${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
    // Python counts the values it expands: the 11th may only be plain text.
    if (chain.length >= MAX_INTERPOLATION_DEPTH && target!.value.includes('%')) {
      fail(`%(${name})s nests more than ${MAX_INTERPOLATION_DEPTH} levels deep (is there a loop?)`);
    }
    out += expand(doc, section, target!, [...chain, name]);
    i = pct + m![0].length;
  }
  return out + raw.slice(i);
}

function keysVisible(doc: IniDocument, section: string): Set<string> {
  const keys = new Set(doc.sections.get(DEFAULT_SECTION)?.entries.keys() ?? []);
  for (const k of doc.sections.get(section)?.entries.keys() ?? []) keys.add(k);
  return keys;
}

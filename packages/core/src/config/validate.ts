/**
 * From ini text to a typed, checked configuration. Pure: no disk, no environment lookups
 * (those come in through `env`), so every rule can be unit-tested on a string.
 */
import { ConfigError } from '../errors.js';
import { ConfigCode } from './codes.js';
import type { ArchiverConfig, LoadedConfig, StandbyConfig } from './config-types.js';
import { DEFAULT_SECTION, parseIni, type IniDocument } from './ini.js';
import { readKeys } from './read-keys.js';
import { roleSchema, type RoleSchema } from './roles.js';
import { rsyncCompression, rsyncCompressionNotice } from './rsync-flags.js';
import type { Notice, Role } from './schema.js';
import { readSlaveSections } from './slave-sections.js';
import { didYouMean } from './suggest.js';
import { humanBytes } from '../bytes.js';
import type { ConfigEnv } from './values.js';

/**
 * [default] or [Default] is not [DEFAULT]: section names are case-sensitive, as in Python's
 * configparser that pitrtools 1.3 read these files with. Said before anything else, or every key
 * in it would be reported missing from [DEFAULT] or unknown in a section.
 */
function rejectDefaultInOtherCase(doc: IniDocument): void {
  const s = [...doc.sections.values()].find((x) => x.name !== DEFAULT_SECTION && x.name.toUpperCase() === DEFAULT_SECTION);
  if (!s) return;
  throw new ConfigError(
    ConfigCode.UNKNOWN_SECTION,
    doc.file,
    `section [${s.name}] is not [${DEFAULT_SECTION}]: section names are case-sensitive (as in Python's configparser, which pitrtools 1.3 used); did you mean [${DEFAULT_SECTION}]?`,
    { ...(s.line !== undefined ? { line: s.line } : {}) },
  );
}

/** Checks ini text as a configuration of `role`; throws ConfigError on the first problem. */
export function parseConfig(text: string, file: string, role: 'archiver', env: ConfigEnv): LoadedConfig<ArchiverConfig>;
export function parseConfig(text: string, file: string, role: 'standby', env: ConfigEnv): LoadedConfig<StandbyConfig>;
export function parseConfig(text: string, file: string, role: Role, env: ConfigEnv): LoadedConfig<ArchiverConfig | StandbyConfig>;
export function parseConfig(text: string, file: string, role: Role, env: ConfigEnv): LoadedConfig<ArchiverConfig | StandbyConfig> {
  const schema = roleSchema(role);
  const doc = parseIni(text, file);
  const notices: Notice[] = doc.duplicates.map((d) => ({
    level: 'warning',
    message:
      `key ${d.key} set twice${d.section === DEFAULT_SECTION ? '' : ` in [${d.section}]`} ` + `(lines ${d.firstLine} and ${d.line}); using line ${d.line}`,
  }));
  rejectDefaultInOtherCase(doc);
  rejectUnknownKeys(doc, schema);
  mapRsyncCompress(doc, notices);
  const { values, sources } = readKeys(doc, DEFAULT_SECTION, schema.keys, env, notices);
  for (const spec of schema.keys) {
    if (spec.defaultFrom && 'key' in spec.defaultFrom && values[spec.name] === undefined) {
      values[spec.name] = values[spec.defaultFrom.key];
    }
  }
  checkOrder(doc, schema, values, sources);
  if (role === 'standby') {
    const extra = [...doc.sections.values()].find((s) => s.name !== DEFAULT_SECTION);
    if (extra) {
      throw new ConfigError(
        ConfigCode.UNKNOWN_SECTION,
        file,
        `section [${extra.name}]: cmd_standby.ini has no sections besides [DEFAULT]; move its keys to [DEFAULT]`,
        { ...(extra.line !== undefined ? { line: extra.line } : {}) },
      );
    }
    return { config: { ...values, file, sources } as unknown as StandbyConfig, notices: unique(notices) };
  }
  const partial = { ...values, file, sources } as unknown as Omit<ArchiverConfig, 'sections'>;
  const sections = readSlaveSections(doc, partial, env, notices);
  return { config: { ...partial, sections }, notices: unique(notices) };
}

// The original's how-to sets rsync_flags: -z to compress on the wire: read it as compress (for
// DEFAULT, so sections inherit it) unless compress is set anywhere, and say so. Both files alike.
function mapRsyncCompress(doc: IniDocument, notices: Notice[]): void {
  const def = doc.sections.get(DEFAULT_SECTION);
  const flags = def?.entries.get('rsync_flags');
  if (!def || !flags) return;
  const compress = rsyncCompression(flags.value);
  if (compress === undefined || [...doc.sections.values()].some((s) => s.entries.has('compress'))) return;
  def.entries.set('compress', { section: DEFAULT_SECTION, key: 'compress', value: compress, line: flags.line });
  def.entries.delete('rsync_flags'); // it has an effect now: no "has no effect" notice
  notices.push({ level: 'warning', message: rsyncCompressionNotice(doc.file, flags.line, flags.value, compress) });
}

// A per-slave section re-reads DEFAULT's values, so the same warning can come up twice.
function unique(notices: Notice[]): Notice[] {
  const seen = new Set<string>();
  return notices.filter((n) => !seen.has(n.message) && seen.add(n.message) !== undefined);
}

function rejectUnknownKeys(doc: IniDocument, schema: RoleSchema): void {
  const known = schema.keys.map((k) => k.name);
  const other = roleSchema(schema.role === 'archiver' ? 'standby' : 'archiver');
  const entries = [...(doc.sections.get(DEFAULT_SECTION)?.entries.values() ?? [])].sort((a, b) => a.line - b.line);
  for (const e of entries) {
    if (known.includes(e.key)) continue;
    // A key of the other program is most likely a file mix-up rather than a typo.
    const guess = didYouMean(e.key, known);
    const why = other.keys.some((k) => k.name === e.key) ? ` (it belongs in ${other.fileName})` : guess !== undefined ? ` (did you mean '${guess}'?)` : '';
    throw new ConfigError(ConfigCode.UNKNOWN_KEY, doc.file, `not a ${schema.fileName} key${why}`, { line: e.line, key: e.key });
  }
}

function checkOrder(doc: IniDocument, schema: RoleSchema, values: Record<string, unknown>, sources: Record<string, number>): void {
  for (const chain of schema.ordered) {
    for (let i = 0; i < chain.length; i++) {
      for (let j = i + 1; j < chain.length; j++) {
        const [lo, hi] = [chain[i]!, chain[j]!];
        const [a, b] = [values[lo], values[hi]];
        if (typeof a !== 'number' || typeof b !== 'number' || a <= b) continue;
        const spec = schema.keys.find((k) => k.name === lo)!;
        const show = (n: number): string => (spec.type === 'bytes' ? humanBytes(n) : `${n}s`);
        const blame = sources[lo] !== undefined ? lo : hi;
        throw new ConfigError(
          ConfigCode.BAD_VALUE,
          doc.file,
          `${lo} (${show(a)}) is above ${hi} (${show(b)}); each threshold must be at most the next one (${chain.join(' <= ')})`,
          { key: blame, ...(sources[blame] !== undefined ? { line: sources[blame] } : {}) },
        );
      }
    }
  }
}

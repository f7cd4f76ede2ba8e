/**
 * cmd_archiver's `slaves` list and its per-slave sections: a section named exactly like an
 * entry may override the keys marked perSlave (e.g. another user or directory when several
 * standbys live on one host). Also rejects two entries that would ship to the same place.
 */
import { ConfigError } from '../errors.js';
import { ARCHIVER_KEYS } from './archiver-schema.js';
import { ConfigCode } from './codes.js';
import type { ArchiverConfig, SlaveSection } from './config-types.js';
import { DEFAULT_SECTION, type IniDocument } from './ini.js';
import { readKeys } from './read-keys.js';
import type { KeySpec, Notice } from './schema.js';
import { parseSlaveEntry, type SlaveEntry } from './slaves.js';
import { didYouMean } from './suggest.js';
import type { ConfigEnv } from './values.js';

/** The specs a per-slave section may set. */
export const PER_SLAVE_KEYS: readonly KeySpec[] = ARCHIVER_KEYS.filter((k: KeySpec) => k.perSlave === true);

/** Parses every entry of `slaves`; throws ConfigError naming the slaves line. */
export function parseSlaveList(config: Pick<ArchiverConfig, 'slaves' | 'file' | 'sources'>): SlaveEntry[] {
  const where = { key: 'slaves', ...(config.sources['slaves'] !== undefined ? { line: config.sources['slaves'] } : {}) };
  if (config.slaves.length === 0) {
    throw new ConfigError(ConfigCode.BAD_SLAVE, config.file, 'lists no slave (e.g. `slaves: standby1, standby2:2222`)', where);
  }
  return config.slaves.map((text) => {
    const parsed = parseSlaveEntry(text);
    if ('error' in parsed) throw new ConfigError(ConfigCode.BAD_SLAVE, config.file, parsed.error, where);
    return parsed.value;
  });
}

/** Reads and checks the per-slave sections; returns them by entry. */
export function readSlaveSections(doc: IniDocument, config: Omit<ArchiverConfig, 'sections'>, env: ConfigEnv, notices: Notice[]): Record<string, SlaveSection> {
  const slaves = parseSlaveList(config);
  const entries = slaves.map((s) => s.entry);
  const sections: Record<string, SlaveSection> = {};
  for (const section of doc.sections.values()) {
    if (section.name === DEFAULT_SECTION) continue;
    const line = section.line ?? 0;
    if (!entries.includes(section.name)) {
      const guess = section.name.toUpperCase() === DEFAULT_SECTION ? DEFAULT_SECTION : didYouMean(section.name, entries);
      throw new ConfigError(
        ConfigCode.UNKNOWN_SECTION,
        doc.file,
        `section [${section.name}] names no entry of 'slaves' (${entries.join(', ')})` +
          (guess !== undefined ? `; did you mean [${guess}]?` : '; a per-slave section must be named exactly like its entry'),
        { line },
      );
    }
    for (const e of [...section.entries.values()].sort((a, b) => a.line - b.line)) {
      if (PER_SLAVE_KEYS.some((k) => k.name === e.key)) continue;
      const allowed = PER_SLAVE_KEYS.map((k) => k.name).join(', ');
      const known = ARCHIVER_KEYS.some((k) => k.name === e.key);
      const guess = didYouMean(
        e.key,
        PER_SLAVE_KEYS.map((k) => k.name),
      );
      throw new ConfigError(
        known ? ConfigCode.BAD_VALUE : ConfigCode.UNKNOWN_KEY,
        doc.file,
        known
          ? `in [${section.name}]: cannot be set per slave (only ${allowed}); move it to [DEFAULT]`
          : `in [${section.name}]: not a cmd_archiver.ini key${guess !== undefined ? ` (did you mean '${guess}'?)` : ''}`,
        { line: e.line, key: e.key },
      );
    }
    const read = readKeys(doc, section.name, PER_SLAVE_KEYS, env, notices);
    sections[section.name] = {
      entry: section.name,
      line,
      values: read.values as SlaveSection['values'],
      sources: read.sources,
    };
  }
  rejectDuplicates(config, slaves, sections);
  return sections;
}

// Two entries that deliver to the same directory of the same account on the same host would
// race each other; two that share a queue name would share a queue directory.
function rejectDuplicates(config: Omit<ArchiverConfig, 'sections'>, slaves: SlaveEntry[], sections: Record<string, SlaveSection>): void {
  const where = { key: 'slaves', ...(config.sources['slaves'] !== undefined ? { line: config.sources['slaves'] } : {}) };
  const seenTarget = new Map<string, string>();
  const seenName = new Map<string, string>();
  for (const s of slaves) {
    const v = sections[s.entry]?.values ?? config;
    const target = `${v.user}@${s.host.toLowerCase()}:${s.port ?? v.ssh_port}:${v.r_archivedir}`;
    const dupOf = seenTarget.get(target);
    if (dupOf !== undefined) {
      throw new ConfigError(
        ConfigCode.DUPLICATE_SLAVE,
        config.file,
        `'${dupOf}' and '${s.entry}' both ship to ${target}; list each standby once` +
          ' (several standbys on one host need a different user, port or r_archivedir in a per-slave section)',
        where,
      );
    }
    seenTarget.set(target, s.entry);
    const nameOf = seenName.get(s.name.toLowerCase());
    if (nameOf !== undefined) {
      throw new ConfigError(
        ConfigCode.DUPLICATE_SLAVE,
        config.file,
        `'${nameOf}' and '${s.entry}' would share the queue directory ${s.name}; write one of them differently`,
        where,
      );
    }
    seenName.set(s.name.toLowerCase(), s.entry);
  }
}

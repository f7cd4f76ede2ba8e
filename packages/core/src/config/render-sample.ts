/**
 * The sample files etc/cmd_archiver.ini.sample and etc/cmd_standby.ini.sample, generated from
 * the schema so that they can never disagree with it (a test compares the committed files).
 */
import { COMPAT } from './common-schema.js';
import { defaultLabel, legacyLabel, typeLabel } from './describe.js';
import { roleSchema } from './roles.js';
import type { KeySpec, Role } from './schema.js';
import { PER_SLAVE_KEYS } from './slave-sections.js';

const WIDTH = 78;

const INTRO: Record<Role, string[]> = {
  archiver: [
    "cmd_archiver.ini: settings of cmd_archiver, the master's archive_command.",
    '',
    'In postgresql.conf:',
    '  archive_mode = on',
    "  archive_command = 'cmd_archiver -C /etc/pitrtools/cmd_archiver.ini -F %p'",
    'then create the queues once with',
    '  cmd_archiver -C /etc/pitrtools/cmd_archiver.ini -I',
  ],
  standby: [
    'cmd_standby.ini: configuration of cmd_standby, run on the standby:',
    '-I prepare, -B base backup, -S start as a standby, -F999 fail over,',
    '-P ping the master.',
  ],
};

const SYNTAX = wrap(
  'Syntax: `key: value` or `key = value` under [DEFAULT]. Lines starting with ; or # ' +
    'are comments, and so is the rest of a line from a ; that follows a blank. An empty value means ' +
    '"not set". %(key)s inserts the value of another key; in a value that does, write %% for a literal %. ' +
    'Keys shown commented out are at their default.',
);

const PER_SLAVE_EXAMPLE = wrap(
  'A section named exactly like an entry of slaves overrides, for that slave only: ' +
    `${PER_SLAVE_KEYS.map((k) => k.name).join(', ')}. Everything it does not set comes from [DEFAULT]. ` +
    'Keep such sections at the end of the file.',
);

/** The sample file of a role, every key with its doc, grouped, legacy keys last. */
export function renderSample(role: Role): string {
  const schema = roleSchema(role);
  const out: string[] = [
    ...comment(INTRO[role]),
    ';',
    ...comment(SYNTAX),
    ';',
    '; Generated from the schema by scripts/gen-samples.mjs: edit',
    `; packages/core/src/config/${role}-schema.ts, not this file.`,
    '',
    '[DEFAULT]',
  ];
  const groups = [...new Set(schema.keys.map((k) => k.group))].sort((a, b) => Number(a === COMPAT) - Number(b === COMPAT));
  for (const group of groups) {
    out.push('', `; ==== ${group} ====`);
    if (group === COMPAT) {
      out.push(...comment([`Keys of pitrtools 1.3, accepted so that existing files load unchanged.`]));
    }
    for (const spec of schema.keys.filter((k) => k.group === group)) out.push('', ...renderKey(role, spec));
  }
  if (role === 'archiver') {
    out.push(
      '',
      '; ==== Per-slave settings ====',
      ...comment(PER_SLAVE_EXAMPLE),
      ';',
      ';[standby2:2222]',
      ';user: walreceiver',
      ';r_archivedir: /srv/standby2/archive',
    );
  }
  return `${out.join('\n')}\n`;
}

function renderKey(role: Role, spec: KeySpec): string[] {
  const notes = [spec.doc];
  if (role === 'archiver' && spec.perSlave) notes.push('Can be set per slave.');
  const legacy = legacyLabel(spec);
  if (legacy !== undefined) notes.push(legacy);
  const lines = wrap(notes.join(' '));
  if (spec.legacy === undefined) lines.push(...wrap(`${typeLabel(spec)}; ${spec.required ? 'required' : `default: ${defaultLabel(spec)}`}`));
  const value = spec.secret ? '' : spec.required ? (spec.example ?? '') : (spec.default ?? spec.example ?? '');
  const setting = `${spec.name}: ${value}`.trimEnd();
  return [...comment(lines), spec.required ? setting : `;${setting}`];
}

function comment(lines: string[]): string[] {
  return lines.map((l) => (l === '' ? ';' : `; ${l}`));
}

function wrap(text: string): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur !== '' && cur.length + 1 + word.length > WIDTH - 2) {
      lines.push(cur);
      cur = word;
    } else {
      cur = cur === '' ? word : `${cur} ${word}`;
    }
  }
  if (cur !== '') lines.push(cur);
  return lines;
}

/**
 * The ini keys of a role as Markdown tables for docs/: generated from the same schema as the
 * samples and the loader, so the documentation cannot drift from what the programs accept.
 */
import { defaultLabel, legacyLabel, listSchema, typeLabel } from './describe.js';
import type { KeySpec, Role } from './schema.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function row(role: Role, k: KeySpec): string {
  const perSlave = role === 'archiver' && k.perSlave ? ' *Can be set per slave.*' : '';
  const secret = k.secret ? ' *Never printed.*' : '';
  return `| \`${k.name}\` | ${cell(typeLabel(k))} | ${cell(k.required ? '**required**' : defaultLabel(k))} | ${cell(k.doc)}${perSlave}${secret} |`;
}

/** Markdown: one table per group of current keys, then the keys kept for compatibility. */
export function renderKeyTables(role: Role): string {
  const keys = listSchema(role);
  const out: string[] = [];
  const groups = [...new Set(keys.filter((k) => !k.legacy).map((k) => k.group))];
  for (const g of groups) {
    out.push(`#### ${g}`, '', '| key | value | default | what it does |', '|---|---|---|---|');
    for (const k of keys.filter((x) => !x.legacy && x.group === g)) out.push(row(role, k));
    out.push('');
  }
  const legacy = keys.filter((k) => k.legacy);
  if (legacy.length) {
    out.push('#### Kept for compatibility', '', 'Accepted so that existing pitrtools files load unchanged.', '', '| key | what it does now |', '|---|---|');
    for (const k of legacy) out.push(`| \`${k.name}\` | ${cell(`${k.doc} ${legacyLabel(k) ?? ''}`.trim())} |`);
    out.push('');
  }
  return out.join('\n');
}

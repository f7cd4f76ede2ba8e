#!/usr/bin/env node
// Fills the generated parts of docs/*.md: the ini key tables (from the key schema, like the
// samples) and the --help text of each program (from the built programs themselves), between
//   <!-- BEGIN generated: keys archiver -->  ...  <!-- END generated -->
//   <!-- BEGIN generated: help cmd_standby --> ...  <!-- END generated -->
// so the docs cannot drift from what the programs accept. Run `npx tsc -b` first.
// With --check it only compares and exits 1 when a page is out of date (npm test runs that).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { renderKeyTables } = await import(new URL('packages/core/dist/config/render-docs.js', root).href);
const bins = {
  cmd_archiver: 'packages/archiver/bin/cmd_archiver.js',
  cmd_queue: 'packages/archiver/bin/cmd_queue.js',
  cmd_standby: 'packages/standby/bin/cmd_standby.js',
};
function help(program) {
  const bin = bins[program];
  if (!bin) throw new Error(`unknown program ${program}`);
  const text = execFileSync(process.execPath, [new URL(bin, root).pathname, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', COLUMNS: '100' } });
  return `\`\`\`text\n${text.trimEnd()}\n\`\`\``;
}
const render = { keys: (role) => renderKeyTables(role).trimEnd(), help };

const check = process.argv.includes('--check');
const block = /(<!-- BEGIN generated: (\w+) ([\w-]+) -->\n)[\s\S]*?(<!-- END generated -->)/g;
let stale = 0;
for (const name of readdirSync(new URL('docs/', root)).filter((n) => n.endsWith('.md'))) {
  const file = new URL(`docs/${name}`, root);
  const old = readFileSync(file, 'utf8');
  const text = old.replace(block, (_m, begin, kind, arg, end) => `${begin}${render[kind](arg)}\n${end}`);
  if (text === old) continue;
  if (check) { console.error(`gen-docs: docs/${name} is out of date; run node scripts/gen-docs.mjs`); stale++; }
  else { writeFileSync(file, text); console.log(`gen-docs: wrote docs/${name}`); }
}
process.exit(stale ? 1 : 0);

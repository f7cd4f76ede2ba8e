#!/usr/bin/env node
// Fills the generated parts of docs/*.md: the ini key tables (from the key schema, like the
// samples) and the --help text of each program (from the built programs themselves), between
//   <!-- BEGIN generated: keys archiver -->  ...  <!-- END generated -->
//   <!-- BEGIN generated: help cmd_standby --> ...  <!-- END generated -->
//   <!-- BEGIN generated: errors all --> ...  <!-- END generated -->   (the error-code registry)
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
  // yargs glues the type to a description that fills its column exactly ("and reload[boolean]").
  const glued = text.split('\n').filter((l) => /\S\[(boolean|string|number|array|count)\]/.test(l));
  if (glued.length > 0) throw new Error(`${program} --help: a description runs into its [type]; shorten it:\n${glued.join('\n')}`);
  return `\`\`\`text\n${text.trimEnd()}\n\`\`\``;
}
const { ERRORS, ExitCode } = await import(new URL('packages/core/dist/error-codes.js', root).href);
/** The error-code table of docs/errors.md, from the registry (packages/core/src/error-codes.ts). */
function errors(program) {
  const rows = Object.entries(ERRORS).filter(([, e]) => program === 'all' || e.program === program || e.program === 'both');
  const cell = (t) => t.replace(/\|/g, '\\|');
  return ['| code | exit | program | meaning |', '|---|---|---|---|',
    ...rows.map(([code, e]) => `| \`${code}\` | ${ExitCode[e.exit]} (${e.exit}) | ${e.program} | ${cell(e.meaning)} |`)].join('\n');
}
function exitCodes() {
  return ['| exit | name |', '|---|---|', ...Object.entries(ExitCode).map(([name, n]) => `| ${n} | ${name} |`)].join('\n');
}
const render = { keys: (role) => renderKeyTables(role).trimEnd(), help, errors, exits: () => exitCodes() };

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

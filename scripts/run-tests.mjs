#!/usr/bin/env node
// Finds the test files and runs them with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--unit | --e2e] [substring ...]
//   --unit  only packages/*/test (no servers);  --e2e  only test/ (real PostgreSQL and sshd)
//   a substring keeps only the files whose path contains it.
// PITR_PG_VERSIONS (scripts/test.sh sets it; alone the default is "15,18") lists the PostgreSQL majors the end-to-end tests run against:
// every file in test/ runs once per major with PITR_PG_VERSION set, except files that declare
// `// pitr-test: once` (they do not depend on the server's version, e.g. the SSH layer's tests).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
if (process.getuid?.() === 0) {
  console.error('run-tests: refusing to run as root; use npm test (it switches to the test user)');
  process.exit(2);
}
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const e2eOnly = args.includes('--e2e');
const filters = args.filter((a) => !a.startsWith('--'));
const versions = (process.env.PITR_PG_VERSIONS || '15,18').split(',').map((v) => v.trim()).filter(Boolean);

function walk(dir, out) {
  let names = [];
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}
const keep = (files) => (filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files).sort();
const unit = unitOnly || !e2eOnly ? keep(readdirSync(join(root, 'packages')).flatMap((p) => walk(join(root, 'packages', p, 'test'), []))) : [];
const e2e = e2eOnly || !unitOnly ? keep(walk(join(root, 'test'), [])) : [];
const once = new Set(e2e.filter((f) => /^\/\/ pitr-test: once\b/m.test(readFileSync(join(root, f), 'utf8'))));

const concurrency = process.env.PITR_TEST_CONCURRENCY ?? '2';
function runFiles(label, files, env) {
  if (files.length === 0) return 0;
  console.log(`\n== ${label}: ${files.length} file(s)`);
  const started = Date.now();
  const r = spawnSync(process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  console.log(`== ${label}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
  return r.status ?? 1;
}

if (unit.length + e2e.length === 0) { console.error('run-tests: no test files matched'); process.exit(1); }
const failed = [];
if (runFiles('unit tests', unit, {}) !== 0) failed.push('unit');
versions.forEach((v, i) => {
  const files = e2e.filter((f) => i === 0 || !once.has(f));
  if (runFiles(`end-to-end tests on PostgreSQL ${v}`, files, { PITR_PG_VERSION: v }) !== 0) failed.push(`PostgreSQL ${v}`);
});
if (failed.length) { console.error(`\nrun-tests: FAILED: ${failed.join(', ')}`); process.exit(1); }
console.log(`\nrun-tests: all passed (unit + end-to-end on PostgreSQL ${versions.join(', ')})`);

#!/usr/bin/env node
// Finds the test files and runs them with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--unit | --e2e] [substring ...]
//   --unit  only packages/*/test (no servers);  --e2e  only test/ (real PostgreSQL and sshd)
//   a substring keeps only the files whose path contains it.
import { readdirSync, statSync } from 'node:fs';
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

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
let files = [];
if (!e2eOnly) for (const pkg of readdirSync(join(root, 'packages'))) walk(join(root, 'packages', pkg, 'test'), files);
if (!unitOnly) walk(join(root, 'test'), files);
files = files.map((f) => relative(root, f)).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) { console.error('run-tests: no test files matched'); process.exit(1); }

const concurrency = process.env.PITR_TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);

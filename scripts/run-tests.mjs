#!/usr/bin/env node
// Finds the test files and runs them with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--unit | --e2e] [substring ...]
//   --unit  only packages/*/test (no servers);  --e2e  only test/ (real PostgreSQL and sshd)
//   a substring keeps only the files whose path contains it.
// PITR_PG_VERSIONS (scripts/test.sh sets it; alone the default is "15,18") lists the PostgreSQL majors the end-to-end tests run against:
// every file in test/ runs once per major with PITR_PG_VERSION set, except files that declare
// `// pitr-test: once` (they do not depend on the server's version, e.g. the SSH layer's tests),
// and files that declare `// pitr-test: ends`: they run on the first and the last major of the list
// (the oldest and newest server, where the SQL interfaces differ most: pg_start_backup/pg_backup_start,
// slot columns; every version test in our code is a threshold inside 14-18, so the two ends take
// both sides of each) unless PITR_TEST_EVERY_MAJOR=1 (npm run test:matrix sets it) runs them on every major.
// Files that declare `// pitr-test: long` (their tests take 20 s or more; the slowest-files report
// after each set names them) start first in their set, so that no long file starts last and runs alone.
// After each set of files, nothing the rig started may still run (see leftBehind).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
const marked = (word) => new Set(e2e.filter((f) => new RegExp(`^// pitr-test: ${word}\\b`, 'm').test(readFileSync(join(root, f), 'utf8'))));
const once = marked('once');
const ends = process.env.PITR_TEST_EVERY_MAJOR === '1' ? new Set() : marked('ends');
const long = marked('long');
/** The long files first (the runner starts files in the order given), each group in name order. */
const longFirst = (files) => [...files.filter((f) => long.has(f)), ...files.filter((f) => !long.has(f))];

// Files at once: unit files are short and CPU-bound (a process and tsx each), so 2 on 2 cores;
// end-to-end files spend much of their time waiting on servers, links and polls, so 3 (measured on
// 2 cores, PostgreSQL 14's set of 46 files: 354 s at 2, 263 s at 3, green at 3 beside two busy
// loops). PITR_TEST_CONCURRENCY sets both.
const concurrency = { unit: process.env.PITR_TEST_CONCURRENCY || '2', e2e: process.env.PITR_TEST_CONCURRENCY || '3' };
// What failed, per set, printed again at the end of the run (see failures-reporter.mjs).
const summary = [];
let sets = 0;
const reportDir = mkdtempSync(join(process.env.TMPDIR || '/tmp', 'run-tests-'));
process.on('exit', () => rmSync(reportDir, { recursive: true, force: true }));
// The rig's initdb templates (test/rig/postgres.ts initCluster, about 40 MB each), gone with reportDir.
const templates = join(reportDir, 'initdb');
mkdirSync(templates);
function runFiles(label, files, env, concurrency) {
  if (files.length === 0) return 0;
  console.log(`\n== ${label}: ${files.length} file(s)`);
  const started = Date.now();
  const failures = join(reportDir, `${sets}.txt`);
  const timings = join(reportDir, `${sets++}.times`);
  const r = spawnSync(process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts/failures-reporter.mjs')}`, `--test-reporter-destination=${failures}`,
      `--test-reporter=${join(root, 'scripts/timings-reporter.mjs')}`, `--test-reporter-destination=${timings}`, ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, PITR_TEST_TEMPLATES: templates, ...env } });
  console.log(`== ${label}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
  printSlowest(label, timings);
  let text = '';
  try { text = readFileSync(failures, 'utf8').trim(); } catch { /* the runner ended before the reporter wrote */ }
  if (r.status !== 0) summary.push(`-- ${label}: exit ${r.status ?? r.signal}\n${text || '(no test reported a failure: see the output above)'}`);
  return r.status ?? 1;
}

// The slowest files of a set (see timings-reporter.mjs), so a file that grows is seen where it grows.
const SLOWEST = 6;
function printSlowest(label, timings) {
  let rows = [];
  try {
    rows = readFileSync(timings, 'utf8').split('\n').filter(Boolean)
      .map((l) => { const [ms, file] = l.split('\t'); return { ms: Number(ms), file: relative(root, file) }; });
  } catch { return; /* the runner ended before the reporter wrote */ }
  rows.sort((a, b) => b.ms - a.ms);
  const total = rows.reduce((sum, r) => sum + r.ms, 0);
  console.log(`== ${label}: slowest files (their tests' summed time, ${Math.round(total / 1000)} s in all):`);
  for (const r of rows.slice(0, SLOWEST)) console.log(`   ${String(Math.round(r.ms / 1000)).padStart(4)} s  ${r.file}`);
}

// The rig must stop every server and daemon it started (all of them live under $TMPDIR/pitr-*;
// the benchmark's pitr-bench-* are not ours to judge). Whatever is still running a few seconds
// after a set of files ended is reported, killed, and fails the run.
const tmp = process.env.TMPDIR || '/tmp';
// Only processes started since the set began count (not those of another run that ended earlier).
function ourLiveProcesses(since) {
  const ps = spawnSync('ps', ['-u', String(process.getuid()), '-o', 'pid=,etimes=,stat=,args='], { encoding: 'utf8' });
  const maxAge = (Date.now() - since) / 1000 + 2;
  return (ps.stdout || '').split('\n').map((l) => l.trim()).filter(Boolean)
    .map((l) => { const [pid, age, stat, ...rest] = l.split(/\s+/); return { pid: Number(pid), age: Number(age), stat, args: rest.join(' ') }; })
    .filter((p) => !p.stat.startsWith('Z') && p.age <= maxAge && p.args.includes(`${tmp}/pitr-`) && !p.args.includes('/pitr-bench-'));
}
function leftBehind(label, since) {
  let left = ourLiveProcesses(since);
  for (let i = 0; i < 40 && left.length; i++) {
    spawnSync('sleep', ['0.25']);
    left = ourLiveProcesses(since);
  }
  if (left.length === 0) return false;
  const lines = [`== ${label}: ${left.length} process(es) still running after the tests ended (the rig must stop what it starts); killing them:`];
  for (const p of left) {
    lines.push(`   ${p.pid} ${p.args.slice(0, 160)}`);
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
  }
  console.error(lines.join('\n'));
  summary.push(lines.join('\n'));
  return true;
}

if (unit.length + e2e.length === 0) { console.error('run-tests: no test files matched'); process.exit(1); }
const failed = [];
const check = (label, files, env, concurrency) => {
  const since = Date.now();
  const status = runFiles(label, files, env, concurrency);
  return leftBehind(label, since) || status !== 0;
};
if (check('unit tests', unit, {}, concurrency.unit)) failed.push('unit');
versions.forEach((v, i) => {
  const files = longFirst(e2e.filter((f) => i === 0 || (!once.has(f) && (i === versions.length - 1 || !ends.has(f)))));
  const label = `end-to-end tests on PostgreSQL ${v}`;
  if (check(label, files, { PITR_PG_VERSION: v }, concurrency.e2e)) failed.push(`PostgreSQL ${v}`);
});
if (failed.length) {
  console.error(`\nrun-tests: what failed\n\n${summary.join('\n\n')}`);
  console.error(`\nrun-tests: FAILED: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`\nrun-tests: all passed (unit + end-to-end on PostgreSQL ${versions.join(', ')})`);

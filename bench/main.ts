/**
 * The benchmark of issue 5, in one run on one machine: (a) a burst of real WAL under
 * PostgreSQL's archiver, (b) a base backup of a pgbench cluster, each of our commands side by
 * side with the peers a DBA would pick instead. Prints tables, writes JSON. Reports, never asserts.
 * Usage: see options.ts (or --help). Runs as an unprivileged user; bench/run.sh arranges that.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cleanupAll } from '../test/rig/cleanup.js';
import { machineFacts } from './machine-facts.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { repoRoot } from './ours.js';
import { runBasePart, type BasePartResult } from './part-base.js';
import { runScalingPart, scalingReport } from './part-scaling.js';
import { runWalPart, type WalPartResult } from './part-wal.js';
import { runWanPart, wanReport } from './part-wan.js';
import { mb, methodTable, size, targetTable } from './report.js';
import { checkValue } from './results.js';

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const log = (s: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
};

function walReport(w: WalPartResult): string {
  const rss = w.methods.filter((m) => m.id.startsWith('cmd_archiver'));
  const checks = [
    ...w.targets,
    ...rss.map((m) => checkValue(`${m.label}: peak RSS per segment`, m.rssKiB && m.rssKiB / 1024, 100, 'MB', m.unavailable ? 'not available' : 'not measured')),
    ...rss.map((m) =>
      checkValue(`${m.label}: cmd_queue peak RSS`, m.helperRssKiB && m.helperRssKiB / 1024, 100, 'MB', m.unavailable ? 'not available' : 'not reported'),
    ),
  ];
  return [
    `== Part (a): archive burst of ${w.segments} segments (${size(w.bytes)} of pgbench WAL) under PostgreSQL's archiver; median of ${w.runs} run(s)`,
    methodTable(w.methods, 'dd-fsync', 'dd'),
    '',
    targetTable(checks),
    Object.keys(w.rssSamples).length
      ? `(peak RSS: max over ${Object.entries(w.rssSamples)
          .map(([k, v]) => `${v} ${k} invocations`)
          .join(', ')}, in a separate untimed pass wrapped in /usr/bin/time)`
      : '(peak RSS: cmd_archiver not measured)',
    '(cmd_queue peak RSS: what it logs when it stops, max over every run; it runs detached, so /usr/bin/time cannot see it)',
  ].join('\n');
}

function baseReport(b: BasePartResult): string {
  return [
    `== Part (b): base backup of a pgbench -s ${b.scale} cluster (${size(b.clusterBytes)} without pg_wal, ${b.clusterFiles} files); median of ${b.runs} run(s)`,
    methodTable(b.methods, 'pg_basebackup', 'pg_basebackup'),
    '',
    targetTable(b.targets),
    `cmd_standby -B peak RSS: ${b.rssBySize.map((r) => `${mb(r.rssKiB)} at scale ${r.scale} (${size(r.bytes)})`).join(', ') || 'not measured'}`,
  ].join('\n');
}

async function main(o: BenchOptions): Promise<void> {
  if (process.getuid?.() === 0) throw new Error('run as an unprivileged user (bench/run.sh does that: runuser -u pitr)');
  const started = new Date();
  const cmd = `node --import tsx bench/main.ts ${process.argv.slice(2).join(' ')}`.trim();
  const facts = await machineFacts(repoRoot);
  const head = [
    `pitrtools bench, ${started.toISOString()}`,
    `command: ${process.env.PITR_BENCH_INVOKED_AS ? `${process.env.PITR_BENCH_INVOKED_AS}  (runs: ${cmd})` : cmd}`,
    `machine: ${facts.nproc} cores, ${facts.memoryGiB} GiB RAM, Linux ${facts.kernel}; ${facts.postgres}; ${facts.openssh}; ${facts.rsync}; ${facts.pgbackrest}; node ${facts.node}; pitrtools ${facts.commit}`,
  ].join('\n');
  console.log(`${head}\n`);
  const out: Record<string, unknown> = { command: cmd, startedAt: started.toISOString(), machine: facts, options: o, loadAtStart: loadavg() };
  const sections: string[] = [];
  if (o.only === 'all' || o.only === 'wal') {
    log('part (a): WAL burst');
    const w = await runWalPart(o.segments, o.runs, log, o.compress);
    out.wal = w;
    sections.push(walReport(w));
    console.log(`${sections.at(-1)}\n`);
  }
  if (o.only === 'all' || o.only === 'basebackup') {
    log('part (b): base backup');
    const b = await runBasePart(o.scale, o.smallScale, o.runs, log);
    out.basebackup = b;
    sections.push(baseReport(b));
    console.log(`${sections.at(-1)}\n`);
  }
  if (o.only === 'scaling' || o.scaling) {
    log('part (c): scaling');
    const s = await runScalingPart(log, o.scalingRows);
    out.scaling = s;
    sections.push(scalingReport(s));
    console.log(`${sections.at(-1)}\n`);
  }
  if (o.only === 'wan') {
    log('part (wan): simulated links');
    const w = await runWanPart(
      { segments: o.wanSegments, delays: o.wanDelays, scale: o.wanScale, pgbenchTx: o.wanTx, compress: o.compress, singles: o.wanSingles },
      log,
    );
    out.wan = w;
    sections.push(wanReport(w));
    console.log(`${sections.at(-1)}\n`);
  }
  out.seconds = (Date.now() - started.getTime()) / 1000;
  out.loadAtEnd = loadavg();
  // Other work on the shared machine shows up here (a reader judges the noise by it).
  sections.push(`load average (1, 5, 15 min): ${(out.loadAtStart as number[]).map((x) => x.toFixed(2)).join(' ')} at start, ${load()} at end`);
  console.log(`${sections.at(-1)}\n`);
  out.text = `${head}\n\n${sections.join('\n\n')}\n`;
  const file = o.json ?? join(repoRoot, 'bench', 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  for (const f of [resolve(file), join(tmpdir(), `pitr-bench-${started.getTime()}.json`)]) {
    try {
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, `${JSON.stringify(out, null, 2)}\n`);
      console.log(`results: ${f} (total ${Math.round(out.seconds as number)} s)`);
      break;
    } catch (err) {
      log(`cannot write ${f}: ${(err as Error).message}`);
    }
  }
}

let code = 0;
try {
  const o = parseOptions(process.argv.slice(2));
  if (o === 'help') console.log(USAGE);
  else await main(o);
} catch (err) {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  await cleanupAll();
}
process.exit(code);

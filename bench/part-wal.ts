/**
 * Part (a): a burst of real WAL under PostgreSQL's own archiver, every method on a fresh copy
 * of the same template, `runs` times in rotating order; then a separate pass that measures
 * cmd_archiver's peak RSS (the /usr/bin/time wrapper costs time, so not in the timed runs).
 */
import { join } from 'node:path';
import { startSshd, type SshdHandle } from '../test/rig/sshd.js';
import { makeTempDir } from '../test/rig/tmp.js';
import { checkRatio, probeMethods, summarize, type MethodResult, type TargetCheck } from './results.js';
import { maxRssKiB, rssCount } from './rss.js';
import { sshClientFor, type SshClient } from './ssh-client.js';
import { runBurst } from './wal-burst.js';
import { cmdArchiverMethod } from './wal-cmd-archiver.js';
import type { WalMethod } from './wal-method.js';
import { pgbackrestMethod } from './wal-pgbackrest.js';
import { ddMethod, rsyncSshMethod } from './wal-peers.js';
import { makeWalTemplate } from './wal-template.js';

export interface WalPartResult {
  segments: number;
  bytes: number;
  runs: number;
  methods: MethodResult[];
  targets: TargetCheck[];
  /** Per-segment cmd_archiver invocations the RSS figure covers. */
  rssSamples: Record<string, number>;
}

/** Runs part (a). `log` gets one progress line per run. */
export async function runWalPart(segments: number, runs: number, log: (s: string) => void, compress: readonly string[] = []): Promise<WalPartResult> {
  // Our compress values other than none: a 1-slave row each (issue 14: on loopback too, aim for <= 0.5 x pgBackRest async).
  const packed = compress.filter((c) => c !== 'none');
  const tpl = await makeWalTemplate(segments, log);
  const sshds: SshdHandle[] = [];
  for (let i = 0; i < 3; i++) sshds.push(await startSshd({ logLevel: 'ERROR' }));
  const sshDir = makeTempDir('pitr-bench-ssh-');
  const ssh: SshClient = sshClientFor(sshds[0]!, sshDir.path);
  const methods: WalMethod[] = [
    ddMethod(),
    rsyncSshMethod(() => ssh),
    pgbackrestMethod(
      false,
      () => sshds[0]!,
      () => ssh,
    ),
    pgbackrestMethod(
      true,
      () => sshds[0]!,
      () => ssh,
    ),
    cmdArchiverMethod(1, () => sshds),
    ...packed.map((c) => cmdArchiverMethod(1, () => sshds, c)),
    cmdArchiverMethod(3, () => sshds),
  ];
  const { results, live } = await probeMethods(methods, log);
  for (let r = 0; r < runs; r++) {
    // Rotate the order each round, so no method always runs first (or right after the same one).
    const order = live.map((_, i) => live[(i + r) % live.length]!);
    for (const m of order) {
      const b = await runBurst(tpl, m);
      results.get(m.id)!.runs.push({
        ...(b.seconds !== undefined ? { seconds: b.seconds } : {}),
        problems: b.problems,
        ...(b.killed.length ? { notes: b.killed.map((k) => `still running 30 s after the cluster stopped, killed: ${k}`) } : {}),
        ...(b.checked ? { checked: b.checked } : {}),
        ...(b.helperRssKiB !== undefined ? { helperRssKiB: b.helperRssKiB } : {}),
      });
      log(
        `  run ${r + 1}/${runs} ${m.label}: ${b.seconds !== undefined ? `${b.seconds.toFixed(2)} s` : 'no time'} (${b.segments} segments)${b.problems.length ? `  PROBLEM: ${b.problems.join('; ')}` : ''}`,
      );
    }
  }
  const rssSamples: Record<string, number> = {};
  const rssDir = makeTempDir('pitr-bench-rss-');
  for (const m of live.filter((x) => x.id.startsWith('cmd_archiver'))) {
    const file = join(rssDir.path, `${m.id}.rss`);
    const b = await runBurst(tpl, m, file);
    const kib = maxRssKiB(file);
    rssSamples[m.id] = rssCount(file);
    const res = results.get(m.id)!;
    if (kib !== undefined) res.rssKiB = kib;
    if (b.helperRssKiB !== undefined) res.helperRssKiB = Math.max(b.helperRssKiB, res.helperRssKiB ?? 0);
    log(`  RSS pass ${m.label}: peak ${kib ?? '?'} kB over ${rssSamples[m.id]} invocations${b.problems.length ? `  PROBLEM: ${b.problems.join('; ')}` : ''}`);
  }
  await rssDir.remove();
  for (const s of sshds) await s.dispose();
  await sshDir.remove();
  await tpl.cluster.destroy();
  const methodsOut = methods.map((m) => summarize(results.get(m.id)!));
  const by = (id: string): MethodResult | undefined => methodsOut.find((m) => m.id === id);
  return {
    segments: tpl.segments.length,
    bytes: tpl.bytes,
    runs,
    methods: methodsOut,
    rssSamples,
    targets: [
      checkRatio('cmd_archiver 1 slave / dd-fsync', by('cmd_archiver-1'), by('dd-fsync'), 1.5),
      checkRatio('cmd_archiver 1 slave / pgbackrest async', by('cmd_archiver-1'), by('pgbackrest-async'), 0.5),
      ...packed.map((c) => checkRatio(`cmd_archiver 1 slave, compress ${c} / pgbackrest async`, by(`cmd_archiver-1-${c}`), by('pgbackrest-async'), 0.5)),
      checkRatio('cmd_archiver 3 slaves / 1 slave', by('cmd_archiver-3'), by('cmd_archiver-1'), 2.0),
    ],
  };
}

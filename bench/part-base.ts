/**
 * Part (b): base backups of one pgbench master, every method `runs` times in rotating order,
 * caches alike (the master's files read once into the page cache; disks synced between runs);
 * then cmd_standby -B once more against a small master, to see whether its peak RSS follows
 * the cluster's size.
 */
import { startSshd } from '../test/rig/sshd.js';
import { makeTempDir } from '../test/rig/tmp.js';
import { makeBaseMaster, type BaseMaster } from './base-master.js';
import { cmdStandbyMethod, pgBasebackupMethod, rsyncBaseMethod, type BaseMethod } from './base-methods.js';
import { runBase } from './base-run.js';
import { listFiles, readAll } from './files.js';
import { checkRatio, checkValue, probeMethods, summarize, type MethodResult, type TargetCheck } from './results.js';
import { sshClientFor } from './ssh-client.js';

export interface BasePartResult {
  scale: number;
  clusterBytes: number;
  clusterFiles: number;
  runs: number;
  methods: MethodResult[];
  targets: TargetCheck[];
  /** cmd_standby -B's peak RSS against masters of two sizes. */
  rssBySize: { scale: number; bytes: number; rssKiB?: number }[];
}

async function warmCache(m: BaseMaster): Promise<void> {
  await readAll(m.cluster.pgdata, await listFiles(m.cluster.pgdata, (rel) => rel === 'postmaster.pid'));
}

/** Runs part (b) with a master of pgbench scale `scale` (and one of `smallScale` for RSS). */
export async function runBasePart(scale: number, smallScale: number, runs: number, log: (s: string) => void): Promise<BasePartResult> {
  const sshd = await startSshd({ logLevel: 'ERROR' });
  const sshDir = makeTempDir('pitr-bench-ssh-');
  const ssh = sshClientFor(sshd, sshDir.path);
  const methods: BaseMethod[] = [pgBasebackupMethod(), rsyncBaseMethod(() => ssh), cmdStandbyMethod(() => sshd)];
  const { results, live } = await probeMethods(methods, log);

  log(`  master: pgbench -i -s ${scale} ...`);
  const master = await makeBaseMaster('base-master', scale);
  log(`  master: ${(master.bytes / 2 ** 30).toFixed(2)} GiB in ${master.files} files (without pg_wal)`);
  await warmCache(master);
  for (let r = 0; r < runs; r++) {
    const order = live.map((_, i) => live[(i + r) % live.length]!);
    for (const m of order) {
      const o = await runBase(master, m);
      results.get(m.id)!.runs.push(o);
      log(
        `  run ${r + 1}/${runs} ${m.label}: ${o.seconds !== undefined ? `${o.seconds.toFixed(2)} s` : 'no time'}, ${o.files ?? '?'} files${o.rssKiB ? `, peak RSS ${(o.rssKiB / 1024).toFixed(1)} MB` : ''}${o.problems.length ? `  PROBLEM: ${o.problems.join('; ')}` : ''}`,
      );
    }
  }
  await master.cluster.destroy();

  const rssBySize: BasePartResult['rssBySize'] = [];
  const standby = live.find((m) => m.id === 'cmd_standby');
  if (standby) {
    const big = results
      .get('cmd_standby')!
      .runs.map((r) => r.rssKiB)
      .filter((x): x is number => x !== undefined);
    log(`  small master for -B's RSS: pgbench -i -s ${smallScale} ...`);
    const small = await makeBaseMaster('base-small', smallScale);
    const o = await runBase(small, standby);
    log(
      `  cmd_standby -B at scale ${smallScale}: peak RSS ${o.rssKiB ? `${(o.rssKiB / 1024).toFixed(1)} MB` : '?'}${o.problems.length ? `  PROBLEM: ${o.problems.join('; ')}` : ''}`,
    );
    rssBySize.push({ scale: smallScale, bytes: small.bytes, ...(o.rssKiB !== undefined && !o.problems.length ? { rssKiB: o.rssKiB } : {}) });
    rssBySize.push({ scale, bytes: master.bytes, ...(big.length ? { rssKiB: Math.max(...big) } : {}) });
    await small.cluster.destroy();
  }
  await sshd.dispose();
  await sshDir.remove();

  const methodsOut = methods.map((m) => summarize(results.get(m.id)!));
  const by = (id: string): MethodResult | undefined => methodsOut.find((m) => m.id === id);
  const [smallRss, bigRss] = [rssBySize[0]?.rssKiB, rssBySize[1]?.rssKiB];
  return {
    scale,
    clusterBytes: master.bytes,
    clusterFiles: master.files,
    runs,
    methods: methodsOut,
    rssBySize,
    targets: [
      checkRatio('cmd_standby -B / pg_basebackup', by('cmd_standby'), by('pg_basebackup'), 0.8),
      checkRatio('cmd_standby -B / rsync over ssh', by('cmd_standby'), by('rsync-ssh'), 1.0),
      checkValue(
        `-B peak RSS scale ${scale} / scale ${smallScale}`,
        smallRss && bigRss ? bigRss / smallRss : undefined,
        1.25,
        'x',
        standby ? 'not measured' : 'cmd_standby not available',
      ),
    ],
  };
}

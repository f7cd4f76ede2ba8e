/**
 * Temp files an interrupted -B left (`.NAME.PID.N.tmp` beside their destination) are cleanup, not
 * files the master dropped: the walk removes them and counts them apart from `removed`, and the
 * summary says so on a line of its own (before, they were "removed 2" as if the master had
 * dropped two files).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RemoteDirEntry } from '@pitrtools/core/ssh/index';
import { SshError, SshErrorCode } from '@pitrtools/core/ssh/errors';
import { dataDirRule } from '../src/basebackup/exclusions.js';
import { LIST_HOLD } from '../src/basebackup/dir-listing.js';
import { emptyPlan, planTree, type FileJob, type WalkChannel } from '../src/basebackup/plan.js';
import { basebackupLines } from '../src/cli/results.js';
import type { BasebackupResult } from '../src/commands/basebackup.js';
import { remoteEntry } from './remote-entry.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-stale-temps-'));
after(() => rmSync(root, { recursive: true, force: true }));

const entry = remoteEntry;

/** The master: base/5 holds 16396 and 16398. */
const master: WalkChannel = {
  async *readdirBatches(path: string): AsyncGenerator<RemoteDirEntry[]> {
    if (path === '/m') yield [entry('base', true)];
    else if (path === '/m/base') yield [entry('5', true)];
    else if (path === '/m/base/5') yield [entry('16396'), entry('16398')];
    else throw new Error(`no ${path}`);
  },
  stat: () => Promise.reject(new Error('no symlinks here')),
  lstat: (path: string) => Promise.reject(new Error(`no lstat expected: ${path}`)),
} as unknown as WalkChannel;

test('the walk removes our stale temp files without counting them as files the master dropped', async () => {
  const local = join(root, 'copy');
  mkdirSync(join(local, 'base', '5'), { recursive: true });
  for (const n of ['16396', '16398', '.16396.17754.2.tmp', '.16398.17754.3.tmp', '16400']) writeFileSync(join(local, 'base', '5', n), 'x');
  const plan = emptyPlan({ push: async (_job: FileJob) => undefined });
  await planTree(master, { remoteRoot: '/m', localRoot: local, rule: dataDirRule }, plan, true);
  assert.deepEqual(readdirSync(join(local, 'base', '5')).sort(), ['16396', '16398']);
  assert.equal(plan.removed, 1, '16400: the master dropped it');
  assert.equal(plan.staleTemps, 2, 'the two temp files of an interrupted run');
});

test("a big directory, read again while this run's copy writes into it: this process's temps stay, other runs' go", async () => {
  // More than LIST_HOLD entries: the local directory is read live after its jobs were pushed.
  const names = Array.from({ length: LIST_HOLD + 1 }, (_, i) => String(20000 + i));
  const big: WalkChannel = {
    async *readdirBatches(path: string): AsyncGenerator<RemoteDirEntry[]> {
      if (path === '/m') yield [entry('base', true)];
      else if (path === '/m/base') yield [entry('5', true)];
      else if (path === '/m/base/5') yield names.map((n) => entry(n));
      else throw new Error(`no ${path}`);
    },
    stat: () => Promise.reject(new Error('no symlinks here')),
    // What a big listing asks of the master about a local name it no longer holds.
    lstat: (path: string) =>
      names.includes(path.slice(path.lastIndexOf('/') + 1)) ? Promise.resolve({}) : Promise.reject(new SshError(SshErrorCode.SFTP_NO_SUCH_FILE, `no ${path}`)),
  } as unknown as WalkChannel;
  const local = join(root, 'big');
  const dir = join(local, 'base', '5');
  mkdirSync(dir, { recursive: true });
  for (const n of names) writeFileSync(join(dir, n), 'x');
  const live = `.20000.${process.pid}.7.tmp`;
  const old = `.20001.${process.pid + 1}.3.tmp`;
  // The copy of 20000 starts its temp once the walk has pushed the job, as it runs alongside.
  const plan = emptyPlan({
    push: async (job: FileJob) => {
      if (job.local.endsWith('/20000')) writeFileSync(join(dir, live), 'in progress');
    },
  });
  writeFileSync(join(dir, old), 'left by another run');
  await planTree(big, { remoteRoot: '/m', localRoot: local, rule: dataDirRule }, plan, true);
  assert.ok(readdirSync(dir).includes(live), 'the temp this run is writing is still there');
  assert.ok(!readdirSync(dir).includes(old), "another run's temp is removed");
  assert.equal(plan.staleTemps, 1);
  assert.equal(plan.removed, 0);
});

const result = (over: Partial<BasebackupResult>): BasebackupResult =>
  ({
    copied: 26,
    bytes: 206_150_042,
    same: 0,
    vanished: 0,
    senderFiles: 26,
    senderBytes: 206_150_042,
    wireBytes: 3_879_731,
    resynced: 26,
    skipped: 960,
    skippedBytes: 0,
    removed: 0,
    staleTemps: 0,
    elapsedMs: 2500,
    startLsn: '0/2000028',
    stopLsn: '0/2000100',
    compress: 'zstd',
    ...over,
  }) as BasebackupResult;

test('the summary labels file data and bytes sent apart, and says "re-synced" only for files the standby had', () => {
  const again = basebackupLines(result({ staleTemps: 2 }));
  assert.match(
    again[0]!,
    /^Base backup finished: copied 26 files \(196\.6 MiB of file data\) in 2\.5 s, skipped 960 unchanged, removed 0 not on the master; WAL/,
  );
  assert.ok(!again[0]!.includes('iB/s'), again[0]);
  assert.equal(
    again[1],
    "block sender (compress zstd): 3.7 MiB sent over SSH for 196.6 MiB of file data in 26 files, 26 of them re-synced against the standby's copy",
  );
  assert.equal(again[2], 'cleared 2 temp files an interrupted -B had left');
  const first = basebackupLines(result({ copied: 986, senderFiles: 986, resynced: 0 }));
  assert.equal(first.length, 2, first.join('\n'));
  assert.ok(!first.join('\n').includes('re-synced'), first.join('\n'));
});

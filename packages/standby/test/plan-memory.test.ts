/**
 * -B's walk holds a bounded part of a directory's listing, whatever the directory holds (issue
 * 17): base/<db> of a master with 100 000 tables is one directory. A fake SFTP channel serves one
 * directory of 50 000 files; the walk's own count of held entries and the heap it retains
 * half way through (after a full GC) must not grow with it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, test } from 'node:test';
import { SshError, SshErrorCode, type RemoteDirEntry } from '@pitrtools/core/ssh/index';
import { LIST_HOLD } from '../src/basebackup/dir-listing.js';
import { emptyPlan, planTree, type FileJob, type WalkChannel } from '../src/basebackup/plan.js';
import { remoteEntry } from './remote-entry.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-plan-memory-'));
after(() => rmSync(root, { recursive: true, force: true }));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FILES = 50_000;

const entry = remoteEntry;

/** The master: /m holds `db`, a directory of FILES relation files and one unlogged relation's forks. */
class FakeMaster implements WalkChannel {
  lstats = 0;
  async *readdirBatches(path: string): AsyncGenerator<RemoteDirEntry[]> {
    if (path === '/m') {
      yield [entry('db', true)];
      return;
    }
    if (path !== '/m/db') throw new Error(`no ${path}`);
    yield [entry('20000000_init'), entry('20000000'), entry('20000000_fsm')];
    // Fresh entries on every read, as ssh2 makes them: only what the walk keeps stays alive.
    for (let i = 0; i < FILES; i += 100) yield Array.from({ length: 100 }, (_, k) => entry(String(16_384 + i + k)));
  }
  async stat(): Promise<never> {
    throw new Error('no symlinks here');
  }
  async lstat(path: string): Promise<never> {
    this.lstats++;
    throw new SshError(SshErrorCode.SFTP_NO_SUCH_FILE, `no such file: ${path}`);
  }
}

test(`the walk of one directory of ${FILES} files holds at most ${LIST_HOLD} of its entries, and each file goes to the copy once`, async () => {
  const local = join(root, 'copy');
  // A local copy of that directory with more than LIST_HOLD files the master does not have.
  mkdirSync(join(local, 'db'), { recursive: true });
  for (let i = 0; i < LIST_HOLD + 200; i++) writeFileSync(join(local, 'db', `stale_${i}`), '');
  const seen = new Set<number>();
  let pushed = 0;
  let base = 0;
  let midway = 0;
  gc();
  base = process.memoryUsage().heapUsed;
  const plan = emptyPlan({
    push: async (job: FileJob) => {
      pushed++;
      seen.add(Number(job.rel.slice('db/'.length)));
      if (pushed === FILES / 2) {
        gc();
        midway = process.memoryUsage().heapUsed;
      }
    },
  });
  const master = new FakeMaster();
  await planTree(master, { remoteRoot: '/m', localRoot: local, rule: () => 'copy' }, plan, true);
  assert.equal(pushed, FILES + 1, 'every file once, and of the unlogged relation its init fork only');
  assert.equal(seen.size, FILES + 1);
  const retainedMb = (midway - base) / 1048576;
  // 50 000 entries of the listing held would be ~6 MB (and the seen-names set more).
  assert.ok(retainedMb < 2.5, `${retainedMb.toFixed(1)} MB retained half way through the walk`);
  assert.ok(plan.peakHeld !== undefined && plan.peakHeld <= LIST_HOLD, `held ${plan.peakHeld} entries of one directory (at most ${LIST_HOLD})`);
  assert.deepEqual(readdirSync(join(local, 'db')), [], 'stale local files of a big directory removed');
  assert.equal(master.lstats, LIST_HOLD + 200, 'the master asked about each local name once');
});

test("an unlogged relation's forks are left out even when its init fork comes last in a big directory", async () => {
  class InitLast extends FakeMaster {
    override async *readdirBatches(path: string): AsyncGenerator<RemoteDirEntry[]> {
      if (path === '/m') {
        yield [entry('db', true)];
        return;
      }
      yield [entry('30000'), entry('30000_fsm'), entry('30000.1')];
      for (let i = 0; i < 3 * LIST_HOLD; i += 100) yield Array.from({ length: 100 }, (_, k) => entry(String(40_000 + i + k)));
      yield [entry('30000_vm'), entry('30000_init')];
    }
  }
  const names: string[] = [];
  const plan = emptyPlan({
    push: async (job: FileJob) => {
      names.push(job.rel);
    },
  });
  await planTree(new InitLast(), { remoteRoot: '/m', localRoot: join(root, 'copy2'), rule: () => 'copy' }, plan, true);
  assert.equal(names.length, 3 * LIST_HOLD + 1);
  assert.deepEqual(
    names.filter((n) => n.startsWith('db/30000')),
    ['db/30000_init'],
  );
});

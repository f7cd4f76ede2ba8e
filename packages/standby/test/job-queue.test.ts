import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RemoteDirEntry, SftpChannel } from '@pitrtools/core/ssh/index';
import { dataDirRule } from '../src/basebackup/exclusions.js';
import { JobQueue } from '../src/basebackup/job-queue.js';
import { emptyPlan, planTree, type FileJob } from '../src/basebackup/plan.js';

const file = (name: string, size: number): RemoteDirEntry => ({
  name,
  size,
  mode: 0o100600,
  uid: 1,
  gid: 1,
  mtime: 1,
  atime: 1,
  isFile: true,
  isDirectory: false,
  isSymbolicLink: false,
});

test('a full queue makes push wait; take hands out the largest job held; close ends the takers', async () => {
  const q = new JobQueue<{ size: number }>(2);
  await q.push({ size: 1 });
  await q.push({ size: 5 });
  let third = false;
  const p = q.push({ size: 3 }).then(() => {
    third = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false, 'a third push waits while 2 jobs are held');
  assert.equal((await q.take())?.size, 5);
  await p;
  assert.deepEqual([(await q.take())?.size, (await q.take())?.size], [3, 1]);
  const waiting = q.take();
  q.close();
  assert.equal(await waiting, undefined);
  assert.equal(q.peak, 2);
});

test('abort wakes a waiting push with the reason and drops what is held', async () => {
  const q = new JobQueue<{ size: number }>(1);
  await q.push({ size: 1 });
  const p = q.push({ size: 2 });
  q.abort(new Error('copy failed'));
  await assert.rejects(p, /copy failed/);
  assert.equal(await q.take(), undefined);
});

test("the walk of a 10 000-file directory holds at most the queue's capacity while the copy is slow", async () => {
  const local = mkdtempSync(join(tmpdir(), 'pitr-jobqueue-'));
  try {
    const names = Array.from({ length: 10_000 }, (_, i) => file(String(16384 + i), (i % 7) * 8192));
    const sftp = {
      async *readdirBatches(dir: string) {
        if (dir === '/master') yield [{ ...file('base', 0), mode: 0o40700, isFile: false, isDirectory: true }];
        else if (dir === '/master/base') for (let i = 0; i < names.length; i += 100) yield names.slice(i, i + 100);
      },
    } as unknown as SftpChannel;
    const q = new JobQueue<FileJob>(16);
    const plan = emptyPlan(q);
    const walk = planTree(sftp, { remoteRoot: '/master', localRoot: local, rule: dataDirRule }, plan, true).then(() => q.close());
    const got: string[] = [];
    for (let j = await q.take(); j !== undefined; j = await q.take()) {
      got.push(j.rel);
      assert.ok(q.length <= 16, `the queue holds ${q.length} jobs`);
      if (got.length % 100 === 0) await new Promise((r) => setImmediate(r)); // a slow copy
    }
    await walk;
    assert.equal(got.length, 10_000);
    assert.equal(new Set(got).size, 10_000);
    assert.ok(q.peak <= 16, `peak ${q.peak}`);
    assert.equal(plan.files, 10_000);
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
});

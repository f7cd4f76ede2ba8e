/**
 * A SIGINT during -B removes the temp files being written (basebackup-interrupt.ts runs
 * dropAllTemps before its exit): an IncomingFile's temp is tracked from before its open to its
 * rename, and once dropped no new temp starts. An open(2) under way at the drop creates its file
 * after the drop's unlink: dropTemps resolves only once those are gone too, because the process
 * exits right after it and no cleanup of the writer's runs then. Its own file: dropTemps closes
 * the process's registry.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, promises as fsp, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dropTemps, isTracked } from '@pitrtools/core/fs/temp-registry';
import { writeFileAtomic } from '@pitrtools/core/fs/atomic';
import { IncomingFile } from '../src/basebackup/incoming-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-temp-drop-'));
const fifoDir = mkdtempSync(join(tmpdir(), 'pitr-temp-drop-fifo-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(fifoDir, { recursive: true, force: true });
});

/** Blocks this thread for `ms` (the libuv pool goes on): what an exit right after the drop leaves is what is on disk then. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

test('dropTemps removes the temps in progress and those whose open was under way, leaves placed files, and refuses new temps', async () => {
  const placed = await IncomingFile.create(join(dir, 'a'));
  await placed.write([Buffer.from('done')], 0);
  await placed.place(1_764_500_000);
  assert.equal(isTracked(placed.tmp), false, 'a placed file is no temp any more');
  const inFlight = await IncomingFile.create(join(dir, 'b'));
  await inFlight.write([Buffer.alloc(5 << 20, 1)], 0);
  // Opens under way when the drop comes, of both kinds of writer: every thread of libuv's pool is
  // held first by an open(2) of a FIFO (it blocks until a writer comes), so the temps' opens wait
  // behind them and run only after the drop's unlink.
  const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, (_, i) => join(fifoDir, `f${i}`));
  for (const f of fifos) execFileSync('mkfifo', [f]);
  const holders = fifos.map((f) => fsp.open(f, 'r'));
  const opening = [
    ...Array.from({ length: 40 }, (_, i) => IncomingFile.create(join(dir, `c${i}`))),
    ...Array.from({ length: 10 }, (_, i) => writeFileAtomic(join(dir, `w${i}`), 'x')),
  ];
  const settled = Promise.allSettled(opening);
  const dropping = dropTemps();
  // O_RDWR on a FIFO never blocks and lets its readers' opens return: the pool runs the temps' opens now.
  const releases = fifos.map((f) => openSync(f, constants.O_RDWR));
  assert.ok((await dropping) >= 1);
  // The process exits here in -B: no writer's own cleanup runs after this point.
  freeze(300);
  assert.deepEqual(readdirSync(dir), ['a'], 'what an exit right after the drop leaves');
  for (const fd of releases) closeSync(fd);
  for (const fh of await Promise.all(holders)) await fh.close();
  for (const r of await settled) assert.match(r.status === 'rejected' ? String(r.reason) : 'fulfilled', /stopping/);
  assert.deepEqual(readdirSync(dir), ['a']);
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'done');
  await assert.rejects(IncomingFile.create(join(dir, 'd')), /stopping/);
  await assert.rejects(writeFileAtomic(join(dir, 'e'), 'x'), /stopping/);
  assert.equal(existsSync(inFlight.tmp), false);
  await inFlight.discard(); // what the stream does when its channel fails: harmless now
});

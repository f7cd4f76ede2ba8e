/**
 * A SIGINT during -B removes the temp files being written (basebackup-interrupt.ts runs
 * dropAllTemps before its exit): an IncomingFile's temp is tracked from before its open to its
 * rename, and once dropped no new temp starts. Its own file: dropTemps closes the process's registry.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dropTemps, isTracked } from '@pitrtools/core/fs/temp-registry';
import { IncomingFile } from '../src/basebackup/incoming-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-temp-drop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('dropTemps removes the temps in progress, leaves placed files, and refuses new temps', async () => {
  const placed = await IncomingFile.create(join(dir, 'a'));
  await placed.write([Buffer.from('done')], 0);
  await placed.place(1_764_500_000);
  assert.equal(isTracked(placed.tmp), false, 'a placed file is no temp any more');
  const inFlight = await IncomingFile.create(join(dir, 'b'));
  await inFlight.write([Buffer.alloc(5 << 20, 1)], 0);
  const opening = IncomingFile.create(join(dir, 'c')); // its open is under way when the drop comes
  assert.equal(dropTemps() >= 1, true);
  await assert.rejects(opening, /stopping/);
  assert.deepEqual(readdirSync(dir), ['a']);
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'done');
  await assert.rejects(IncomingFile.create(join(dir, 'd')), /stopping/);
  assert.equal(existsSync(inFlight.tmp), false);
  await inFlight.discard(); // what the stream does when its channel fails: harmless now
});

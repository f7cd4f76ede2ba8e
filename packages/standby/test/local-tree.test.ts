import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listLocal } from '../src/basebackup/local-tree.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-localtree-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a local file written after -B placed it never shows the master\'s whole-second mtime (no false "unchanged")', async () => {
  const T = 1_764_500_000; // the master's mtime as SFTP gives it: whole seconds
  writeFileSync(join(dir, 'placed'), 'copy');
  utimesSync(join(dir, 'placed'), T, T); // what -B does after a copy
  writeFileSync(join(dir, 'rewritten'), 'local write');
  utimesSync(join(dir, 'rewritten'), T + 0.25, T + 0.25); // the local server wrote it in the same second
  const m = await listLocal(dir);
  assert.equal(m.get('placed')!.mtime, T, 'a copy -B placed matches the master exactly');
  assert.notEqual(m.get('rewritten')!.mtime, T, 'the same second, written locally: must be copied again');
  assert.ok(m.get('rewritten')!.mtime > T && m.get('rewritten')!.mtime < T + 1);
});

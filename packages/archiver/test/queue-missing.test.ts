/**
 * An l_archivedir that is not there (before -I) is the same failure for every way cmd_queue runs:
 * QUEUE_MISSING, exit 1, the words --check uses and the -I that fixes it; --once does not call
 * it "0 delivered". The real cmd_queue, run as a child.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const BIN = new URL('../bin/cmd_queue.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pitr-queue-missing-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ini = join(dir, 'cmd_archiver.ini');
const q = join(dir, 'q');
writeFileSync(ini, `[DEFAULT]\npgdata: ${join(dir, 'pg')}\nl_archivedir: ${q}\nr_archivedir: /a\nslaves: 127.0.0.1:1\n`, { mode: 0o600 });

for (const mode of ['--once', '--daemon']) {
  test(`cmd_queue ${mode} without l_archivedir: exit 1, "does not exist", the -I that creates it`, () => {
    const r = spawnSync(process.execPath, [BIN, '-C', ini, mode], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^cmd_queue: ERROR: l_archivedir ${q} does not exist$`, 'm'));
    assert.match(r.stderr, new RegExp(`^cmd_queue: HINT: create it with: cmd_archiver -C ${ini} -I$`, 'm'));
    assert.doesNotMatch(r.stdout, /delivered/);
  });
}

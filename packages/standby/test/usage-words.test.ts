/**
 * An unknown option reads the same in the three programs: as it was typed, once, exit 2 (not
 * yargs' "Unknown arguments: recover-to-time, recoverToTime"). The real programs, run as children.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const BINS = {
  cmd_standby: new URL('../bin/cmd_standby.js', import.meta.url).pathname,
  cmd_archiver: new URL('../../archiver/bin/cmd_archiver.js', import.meta.url).pathname,
  cmd_queue: new URL('../../archiver/bin/cmd_queue.js', import.meta.url).pathname,
};

for (const [program, bin] of Object.entries(BINS)) {
  test(`${program}: an unknown option is named as typed, once, exit 2`, () => {
    const r = spawnSync(process.execPath, [bin, '-C', '/nonexistent.ini', '--recover-to-time', 'T', '--log-fil=/x'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^${program}: ERROR: unknown options --recover-to-time, --log-fil$`, 'm'), r.stderr);
    assert.doesNotMatch(r.stderr, /recoverToTime|logFil/);
  });
}

for (const [program, bin] of Object.entries(BINS)) {
  test(`${program}: no -C is "-C <INI> is required", exit 2`, () => {
    const r = spawnSync(process.execPath, [bin, program === 'cmd_queue' ? '--once' : '-B'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    const ini = program === 'cmd_standby' ? 'cmd_standby.ini' : 'cmd_archiver.ini';
    assert.match(r.stderr, new RegExp(`^${program}: ERROR: -C <${ini}> is required\\n${program}: HINT: `), r.stderr);
  });
}

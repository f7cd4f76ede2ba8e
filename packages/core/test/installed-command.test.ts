/**
 * installedCommand: what archive_command and restore_command name. PATH's entry wins only when it
 * is this very installation (npm's bin link to the same file); a copy elsewhere on PATH (another
 * version) never does; a file inside a checkout (a .git above it) is reported as such.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { installedCommand } from '../src/fs/installed-command.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-installed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('installedCommand', () => {
  const lib = join(dir, 'prefix', 'lib', 'node_modules', 'pitrtools', 'bin');
  const bin = join(dir, 'prefix', 'bin');
  const other = join(dir, 'other', 'bin');
  mkdirSync(lib, { recursive: true });
  mkdirSync(bin, { recursive: true });
  mkdirSync(other, { recursive: true });
  const file = join(lib, 'cmd_standby.js');
  writeFileSync(file, '');
  symlinkSync('../lib/node_modules/pitrtools/bin/cmd_standby.js', join(bin, 'cmd_standby'));
  writeFileSync(join(other, 'cmd_standby'), ''); // another installation, earlier on PATH

  it('names the PATH command that links to this file (the first such entry), not the file', () => {
    assert.deepEqual(installedCommand('cmd_standby', file, ['relative/bin', other, bin].join(':')), { path: join(bin, 'cmd_standby') });
  });
  it('names the file itself when PATH has no link to it (or only another installation)', () => {
    assert.deepEqual(installedCommand('cmd_standby', file, other), { path: file });
    assert.deepEqual(installedCommand('cmd_standby', file, ''), { path: file });
  });
  it('never names a node_modules/.bin link (what `npm run` puts first on PATH in a checkout)', () => {
    const nm = join(dir, 'proj', 'node_modules', '.bin');
    mkdirSync(nm, { recursive: true });
    symlinkSync(file, join(nm, 'cmd_standby'));
    assert.deepEqual(installedCommand('cmd_standby', file, [nm, bin].join(':')), { path: join(bin, 'cmd_standby') });
    assert.deepEqual(installedCommand('cmd_standby', file, `${nm}/`), { path: file });
  });
  it('reports the checkout a file lies in (a .git directory or file above it)', () => {
    const repo = join(dir, 'clone');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'packages', 'standby', 'bin'), { recursive: true });
    const f = join(repo, 'packages', 'standby', 'bin', 'cmd_standby.js');
    writeFileSync(f, '');
    assert.deepEqual(installedCommand('cmd_standby', f, ''), { path: f, sourceTree: repo });
    // Reached through PATH's link, the checkout is still named (the link's target is what runs).
    symlinkSync(f, join(other, 'cmd_x'));
    assert.deepEqual(installedCommand('cmd_x', f, other), { path: join(other, 'cmd_x'), sourceTree: repo });
  });
});

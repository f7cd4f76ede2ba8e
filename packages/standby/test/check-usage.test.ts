/**
 * --check is a Nagios plugin in both programs: a problem with its arguments or the ini is
 * UNKNOWN (exit 3, one status line on stdout, or that as --json), never a usage exit 2 that
 * Nagios would page as CRITICAL. --json is one object on one line in both. The real programs,
 * run as children.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const PROGRAMS = {
  cmd_standby: { bin: new URL('../bin/cmd_standby.js', import.meta.url).pathname, service: 'PITR_STANDBY' },
  cmd_archiver: { bin: new URL('../../archiver/bin/cmd_archiver.js', import.meta.url).pathname, service: 'PITR_ARCHIVER' },
} as const;
const dir = mkdtempSync(join(tmpdir(), 'pitr-check-usage-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const broken = join(dir, 'broken.ini');
writeFileSync(broken, '[DEFAULT]\npgdata = \n', { mode: 0o600 });

const cases: Array<[string, (ini: string) => string[]]> = [
  ['an unknown flag', () => ['-C', '/nonexistent.ini', '--check', '--warn-byte', '10']],
  ['--check with --status', () => ['-C', '/nonexistent.ini', '--check', '--status']],
  ['an ini that is not there', () => ['-C', join(dir, 'missing.ini'), '--check']],
  ['an ini with an empty required key', (ini) => ['-C', ini, '--check']],
];

for (const [program, { bin, service }] of Object.entries(PROGRAMS)) {
  for (const [what, args] of cases) {
    test(`${program} --check, ${what}: UNKNOWN, exit 3, on stdout (and as --json)`, () => {
      const r = spawnSync(process.execPath, [bin, ...args(broken)], { encoding: 'utf8' });
      assert.equal(r.status, 3, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^${service} UNKNOWN - \\S`), r.stdout);
      const j = spawnSync(process.execPath, [bin, ...args(broken), '--json'], { encoding: 'utf8' });
      assert.equal(j.status, 3, `${j.stdout}${j.stderr}`);
      assert.equal((JSON.parse(j.stdout) as { state: string }).state, 'UNKNOWN', j.stdout);
      assert.equal(j.stdout.trimEnd().split('\n').length, 1, `one JSON object on one line, as in both programs: ${j.stdout}`);
    });
  }
}

/**
 * A run with --json that fails prints one JSON object on stdout too, `{"error": {code, level, exit,
 * message, hint?}}`, with the stable code of docs/errors.md and the process's own exit code: a
 * script that asked for JSON gets JSON (before, stdout was empty and the code nowhere). Nagios
 * runs (--check --json) keep their own single UNKNOWN object. The real programs, run as children.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

const STANDBY = new URL('../bin/cmd_standby.js', import.meta.url).pathname;
const ARCHIVER = new URL('../../archiver/bin/cmd_archiver.js', import.meta.url).pathname;

function run(bin: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The one line of stdout, parsed. */
function oneObject(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, stdout);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

test('a failure under --json: one {"error": ...} line on stdout with the code, the exit and the words of stderr', async () => {
  const cases: Array<[string, string[], string, number]> = [
    [STANDBY, ['-C', '/nonexistent/cmd_standby.ini', '-P', '--json'], 'CONFIG_UNREADABLE', 2],
    [STANDBY, ['-C', '/nonexistent/cmd_standby.ini', '-S', '--json'], 'CONFIG_UNREADABLE', 2],
    [STANDBY, ['-C', '/nonexistent/cmd_standby.ini', '--bogus', '--json'], 'USAGE', 2],
    [ARCHIVER, ['-C', '/nonexistent/cmd_archiver.ini', '--status', '--json'], 'CONFIG_UNREADABLE', 2],
  ];
  const results = await Promise.all(cases.map(([bin, args]) => run(bin, args)));
  for (const [i, [, args, code, exit]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
    const { error } = oneObject(r.stdout) as { error: { code: string; level: string; exit: number; message: string; hint?: string } };
    assert.equal(error.code, code, r.stdout);
    assert.equal(error.exit, exit);
    assert.equal(error.level, 'ERROR');
    assert.ok(r.stderr.includes(`ERROR: ${error.message}\n`), `${r.stdout} vs ${r.stderr}`);
    if (error.hint !== undefined) assert.ok(r.stderr.includes(`HINT: ${error.hint}\n`), r.stderr);
  }
});

test('--check --json stays the one Nagios object (UNKNOWN, exit 3), without an error object beside it', async () => {
  for (const [bin, service] of [
    [STANDBY, 'PITR_STANDBY'],
    [ARCHIVER, 'PITR_ARCHIVER'],
  ] as const) {
    const r = await run(bin, ['-C', '/nonexistent/x.ini', '--check', '--json']);
    assert.equal(r.code, 3, r.stderr);
    const o = oneObject(r.stdout);
    assert.equal(o['service'], service);
    assert.equal(o['state'], 'UNKNOWN');
  }
});

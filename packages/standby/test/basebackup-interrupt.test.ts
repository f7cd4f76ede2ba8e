/**
 * Ctrl-C during -B (issue 16 part 8): a real process gets a real SIGINT (and SIGTERM) while -B's
 * work is pending; it says what happened and what to do on stderr, exits 130 (143), and leaves the
 * copy's incomplete marker in place. Before, Node's default handler ended it silently.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { INCOMPLETE_MARKER } from '../src/state-files.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-interrupt-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const mod = new URL('../src/basebackup-interrupt.ts', import.meta.url).pathname;

/** Runs a stand-in for -B whose copy never ends, sends `sig` once it runs; resolves with how it ended. */
function interrupt(pgdata: string, sig: 'SIGINT' | 'SIGTERM'): Promise<{ code: number | null; stderr: string }> {
  const script = `import { withInterruptReport } from ${JSON.stringify(mod)};
    await withInterruptReport('cmd_standby', ${JSON.stringify(pgdata)}, '/etc/pitrtools/cmd_standby.ini',
      () => { process.stdout.write('copying\\n'); return new Promise(() => { setInterval(() => undefined, 1000); }); });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('copying')) child.kill(sig);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

it('SIGINT with the copy under way: exit 130, the copy stays marked incomplete, the line says what to do', async () => {
  const pgdata = join(dir, 'data');
  mkdirSync(pgdata);
  writeFileSync(join(pgdata, INCOMPLETE_MARKER), 'x');
  const r = await interrupt(pgdata, 'SIGINT');
  assert.equal(r.code, 130, r.stderr);
  assert.equal(
    r.stderr,
    `cmd_standby: ERROR: -B interrupted by SIGINT: the copy in ${pgdata} is incomplete and stays marked so (${INCOMPLETE_MARKER}): ` +
      '-S and -F999 refuse it; the master ends its backup when our connection closes\n' +
      'cmd_standby: HINT: run cmd_standby -C /etc/pitrtools/cmd_standby.ini -B again: it copies only the files that differ\n',
  );
  assert.ok(existsSync(join(pgdata, INCOMPLETE_MARKER)));
});

it('SIGTERM before anything was written: exit 143, says nothing was changed', async () => {
  const r = await interrupt(join(dir, 'empty'), 'SIGTERM');
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /^cmd_standby: ERROR: -B interrupted by SIGTERM: nothing in .*empty was changed yet;/);
});

it('a failure the stop itself causes (a copy thread refusing new temps) waits for the exit 130; no failure is reported', async () => {
  // The very module the code under test imports (a second copy would hold its own droppers).
  const registry = import.meta.resolve('@pitrtools/core/fs/temp-registry');
  // A copy thread that takes 500 ms to drop its temps; meanwhile the run fails, as it does when a
  // thread refuses a new temp file. runMain would have printed that failure and exited 1.
  const script = `import { withInterruptReport, interruptRequested } from ${JSON.stringify(mod)};
    import { addTempDropper } from ${JSON.stringify(registry)};
    addTempDropper(() => new Promise((resolve) => setTimeout(resolve, 500)));
    try {
      await withInterruptReport('cmd_standby', ${JSON.stringify(join(dir, 'none'))}, '/etc/pitrtools/cmd_standby.ini', () => new Promise((_, reject) => {
        process.once('SIGINT', () => setTimeout(() => reject(new Error('stopping: a temp not created (interrupted ' + interruptRequested() + ')')), 20));
        process.stdout.write('copying\\n');
        setInterval(() => undefined, 1000);
      }));
    } catch (err) {
      process.stderr.write('base backup failed: ' + err.message + '\\n');
      process.exit(1);
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('copying')) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, stderr);
  assert.doesNotMatch(stderr, /base backup failed/);
  assert.match(stderr, /^cmd_standby: ERROR: -B interrupted by SIGINT/);
});

it('a program the interrupted command started (own process group, out of the terminal Ctrl-C) is stopped with it', async () => {
  // As --verify-backup runs pg_verifybackup: core's runProcess, which puts it in a group of its own.
  const proc = import.meta.resolve('@pitrtools/core/proc');
  const script = `import { onInterrupt } from ${JSON.stringify(mod)};
    import { runProcess } from ${JSON.stringify(proc)};
    import { PitrError } from '@pitrtools/core/errors';
    await onInterrupt('cmd_standby', (sig) => new PitrError('INTERRUPTED', '--verify-backup interrupted by ' + sig), () =>
      runProcess(['sh', '-c', 'echo "$$"; exec sleep 60'], { onOutput: (_s, d) => process.stdout.write('started ' + d) }));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let pid = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const m = /started (\d+)/.exec(d);
    if (m) {
      pid = Number(m[1]);
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /^cmd_standby: ERROR: --verify-backup interrupted by SIGINT/);
  assert.ok(pid > 0);
  // Gone (or a zombie until init reaps it): not still sleeping.
  const alive = (): boolean => {
    try {
      return !/^\d+ \(\S+\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!alive(), `sleep ${pid} still runs after its command was interrupted`);
});

/**
 * The commands PostgreSQL runs are signalled with the rest of the server's children when it shuts
 * down (signal_child in postmaster.c sends to the process group). dropTempsOnSignal makes such a
 * stop remove the temp files being written, then end the process by the same signal. Both
 * copies that end in a placed file (copyFileNoClobber for the queues, copyFileAtomic for
 * restore_command into pg_wal) keep their temp tracked from its open to its placement. Each case
 * runs in a child process, caught in the middle of a 256 MiB copy.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';

const work = mkdtempSync(join(tmpdir(), 'pitr-temp-signal-'));
after(() => rmSync(work, { recursive: true, force: true }));
const src = join(work, 'src');
writeFileSync(src, 'x');
truncateSync(src, 256 * 1024 * 1024); // a hole: reads are fast, the copy's writes and fsync are not
const atomic = pathToFileURL(new URL('../src/fs/atomic.ts', import.meta.url).pathname).href;
const registry = pathToFileURL(new URL('../src/fs/temp-registry.ts', import.meta.url).pathname).href;

/** Runs `call` (an expression over copyFileNoClobber / copyFileAtomic, src, dir) in a child with dropTempsOnSignal on; SIGTERMs it once its temp is in `dir`. */
async function caughtInTheAct(dir: string, call: string, prelude = ''): Promise<{ signal: NodeJS.Signals | null; code: number | null; left: string[] }> {
  const script = join(work, `child-${Date.now()}.mjs`);
  writeFileSync(
    script,
    `const { copyFileNoClobber, copyFileAtomic } = await import(${JSON.stringify(atomic)});\n` +
      `const { dropTempsOnSignal } = await import(${JSON.stringify(registry)});\n` +
      `const src = ${JSON.stringify(src)}, dir = ${JSON.stringify(dir)};\n` +
      `${prelude}dropTempsOnSignal();\nawait ${call};\n`,
  );
  for (let attempt = 0; attempt < 5; attempt++) {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    let done = false;
    void ended.then(() => (done = true));
    const temps = (): string[] => readdirSync(dir).filter((n) => n.startsWith('.'));
    while (!done && temps().length === 0) await new Promise((r) => setTimeout(r, 1));
    if (done) {
      // Over before the first look: start again with the destination gone.
      for (const n of readdirSync(dir)) rmSync(join(dir, n), { force: true });
      continue;
    }
    child.kill('SIGTERM');
    const [code, signal] = await ended;
    return { code, signal, left: readdirSync(dir) };
  }
  throw new Error('the copy was never caught with its temp file in place');
}

test('SIGTERM in the middle of copyFileNoClobber (a queue): no temp left, nothing placed, ended by the signal', async () => {
  const dir = mkdtempSync(join(work, 'queue-'));
  const r = await caughtInTheAct(dir, `copyFileNoClobber(src, dir, '000000010000000000000001')`);
  assert.equal(r.signal, 'SIGTERM', `exit ${r.code}`);
  assert.deepEqual(r.left, []);
});

test('SIGTERM in the middle of copyFileAtomic (restore into pg_wal): no temp left, nothing placed, ended by the signal', async () => {
  const dir = mkdtempSync(join(work, 'pg_wal-'));
  const r = await caughtInTheAct(dir, `copyFileAtomic(src, dir + '/RECOVERYXLOG')`);
  assert.equal(r.signal, 'SIGTERM', `exit ${r.code}`);
  assert.deepEqual(r.left, []);
});

test('with another SIGTERM listener in the process (it would catch the signal again): no temp left, exit 143', async () => {
  const dir = mkdtempSync(join(work, 'other-listener-'));
  const r = await caughtInTheAct(dir, `copyFileAtomic(src, dir + '/RECOVERYXLOG')`, "process.on('SIGTERM', () => {});\n");
  assert.equal(r.code, 143, `signal ${r.signal}`);
  assert.deepEqual(r.left, []);
});

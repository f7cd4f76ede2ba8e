/**
 * Temporary directories for tests: 0700, removed after the test (and at process exit as a
 * safety net), kept for inspection when PITR_TEST_KEEP=1. Whatever of ours still runs from a
 * directory is killed before it goes: e.g. a cmd_queue that an archive_command started in
 * PostgreSQL's last moments, after the rig had killed the one it knew (the sh front end starts
 * one when none runs), wrote its log and an alert into the directory being removed and kept it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp dir and the way to remove it. */
export interface TempDir {
  path: string;
  /** Removes the directory tree (unless PITR_TEST_KEEP=1); safe to call twice. */
  remove(): Promise<void>;
}

const keep = (): boolean => process.env.PITR_TEST_KEEP === '1';
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test process that ends without running its after() hooks.
  process.on('exit', () => {
    if (keep()) return;
    for (const p of live) {
      killRunningUnder(p);
      rmSync(p, { recursive: true, force: true });
    }
  });
}

/** SIGKILLs every process of this user whose command line names a path under `dir`. */
function killRunningUnder(dir: string): void {
  const ps = spawnSync('ps', ['-u', String(process.getuid?.() ?? ''), '-o', 'pid=,args='], { encoding: 'utf8' });
  for (const line of (ps.stdout ?? '').split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m || Number(m[1]) === process.pid || !m[2]!.includes(`${dir}/`)) continue;
    try {
      process.kill(Number(m[1]), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Forgets every temp dir made so far: neither remove() nor the exit hook deletes them (the
 * servers left running by demo --keep use them; `npm run demo -- --stop DIR` removes them).
 */
export function keepTempDirs(): void {
  live.clear();
}

/** Creates `$TMPDIR/<prefix>XXXXXX` (mode 0700). */
export function makeTempDir(prefix: string): TempDir {
  installExitHook();
  const path = mkdtempSync(join(tmpdir(), prefix)); // mkdtemp creates it 0700
  live.add(path);
  return {
    path,
    async remove() {
      if (!live.delete(path)) return;
      if (keep()) {
        process.stderr.write(`PITR_TEST_KEEP=1: kept ${path}\n`);
        return;
      }
      killRunningUnder(path);
      await rm(path, { recursive: true, force: true });
    },
  };
}

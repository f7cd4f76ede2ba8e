/**
 * cmd_archiver starts cmd_queue with glibc's malloc settings (spawn.ts MALLOC_ENV: ssh2's
 * per-packet buffers keep their pages), and a value the environment already has wins. Read from
 * the real cmd_queue process's /proc/PID/environ, as started by startDaemon.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MALLOC_ENV, startDaemon } from '../src/daemon/spawn.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-spawn-env-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Starts cmd_queue for an ini whose PostgreSQL is not running, and returns its environment once it runs cmd_queue.js. */
async function startedEnv(): Promise<Map<string, string>> {
  const d = join(root, `q${n++}`);
  mkdirSync(d, { mode: 0o700 });
  const ini = join(d, 'cmd_archiver.ini');
  writeFileSync(ini, `[DEFAULT]\npgdata: ${join(d, 'nopg')}\nl_archivedir: ${d}\nslaves: s1\nr_archivedir: /a\n`);
  const pid = await startDaemon(ini, d);
  assert.ok(pid !== undefined, 'cmd_queue started');
  try {
    // It exits by itself once it finds no PostgreSQL (about a Node.js start later): read it while it runs.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cmd_queue.js')) {
          const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
          return new Map(env.filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
        }
      } catch {
        // Not exec'd yet, or gone between the two reads: the deadline says which.
      }
      await sleep(2);
    }
    return assert.fail(`cmd_queue (pid ${pid}) was never seen running cmd_queue.js`);
  } finally {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // It ended by itself (no PostgreSQL there).
    }
  }
}

describe('cmd_queue started by cmd_archiver', () => {
  // This process's own values are put back after each case.
  const saved = Object.keys(MALLOC_ENV).map((k) => [k, process.env[k]] as const);
  afterEach(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("has spawn.ts's glibc malloc settings", async () => {
    for (const k of Object.keys(MALLOC_ENV)) delete process.env[k];
    const env = await startedEnv();
    for (const [k, v] of Object.entries(MALLOC_ENV)) assert.equal(env.get(k), v, k);
  });

  it('keeps a value the environment already has', async () => {
    delete process.env.MALLOC_MMAP_THRESHOLD_;
    process.env.MALLOC_TRIM_THRESHOLD_ = '4096';
    const env = await startedEnv();
    assert.equal(env.get('MALLOC_TRIM_THRESHOLD_'), '4096');
    assert.equal(env.get('MALLOC_MMAP_THRESHOLD_'), MALLOC_ENV.MALLOC_MMAP_THRESHOLD_);
  });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { memoryLogger } from '@pitrtools/core/log';
import type { SlaveContext, SlaveLink } from '../src/archive/ports.js';
import type { SlaveWorker } from '../src/daemon/slave-worker.js';
import { WarmArchiver } from '../src/daemon/warm-archiver.js';
import { FakeSlave, MemFs, MemStore, seg } from './fakes.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-lookahead-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A slave whose uploads take a few event-loop turns, counting how many run at once. */
class SlowSlave extends FakeSlave {
  inFlight = 0;
  maxInFlight = 0;
  override async get(): Promise<SlaveLink> {
    const link = await super.get();
    return {
      ...link,
      upload: async (src, name) => {
        this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
        try {
          for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
          return await link.upload(src, name);
        } finally {
          this.inFlight--;
        }
      },
    };
  }
}

/** A WarmArchiver with one slave (made on its MemFs) shipping from a fresh pgdata/pg_wal under `root`, at most 4 ahead. */
function warmWith<S extends FakeSlave>(dir: string, iniName: string, makeSlave: (fs: MemFs) => S): { pgdata: string; fs: MemFs; slave: S; warm: WarmArchiver } {
  const pgdata = join(root, dir);
  mkdirSync(join(pgdata, 'pg_wal', 'archive_status'), { recursive: true });
  const ini = join(root, iniName);
  writeFileSync(ini, '[DEFAULT]\n');
  const fs = new MemFs();
  const slave = makeSlave(fs);
  const log = memoryLogger();
  const ctx: SlaveContext = {
    slave: { name: 's0', endpoint: 'pg@s0:22', r_archivedir: '/archive' },
    store: new MemStore(fs),
    link: slave,
    alert: () => undefined,
    now: () => fs.now,
    log,
    limits: { warnBytes: null, criticalBytes: null, maxBytes: null, alertRepeatMs: 3_600_000, drainBudgetMs: 0, configFile: ini },
  };
  const worker = {
    ctx,
    target: { name: 's0', deadlineMs: 60_000 },
    drain: async () => ({ delivered: 0, remaining: [] }),
    nudge: () => undefined,
  } as unknown as SlaveWorker;
  return { pgdata, fs, slave, warm: new WarmArchiver({ pgdata, offline: false, workers: [worker], log, maxAhead: 4 }) };
}

test('one scan of a long backlog of .ready files ships all of it, never more than maxAhead at once', async () => {
  const { pgdata, fs, slave, warm } = warmWith('data', 'a.ini', (fs) => new SlowSlave(fs));
  const names: string[] = [];
  for (let i = 1; i <= 60; i++) {
    const path = join(pgdata, 'pg_wal', seg(i));
    writeFileSync(path, `wal-${i}`);
    writeFileSync(join(pgdata, 'pg_wal', 'archive_status', `${seg(i)}.ready`), '');
    fs.put(path, `wal-${i}`);
    names.push(seg(i));
  }
  // One scan only (as when archive_status does not change for a while): the look-ahead must go
  // on as shipments settle, not wait for the next scan.
  warm.onReady(names, Date.now());
  const deadline = Date.now() + 30_000;
  while (slave.files.size < names.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(slave.files.size, names.length, `${slave.files.size} of ${names.length} shipped after one scan`);
  assert.ok(slave.maxInFlight <= 4, `${slave.maxInFlight} uploads at once`);
  assert.equal(slave.uploads[0], names[0], 'the oldest first');
  assert.deepEqual([...slave.uploads].sort(), names, 'each once');
});

test('a list of only the oldest .ready names (a horizon) forgets nothing after its horizon: those may still be .ready', async () => {
  const { pgdata, fs, slave, warm } = warmWith('data2', 'b.ini', (fs) => new FakeSlave(fs));
  for (let i = 1; i <= 10; i++) {
    const path = join(pgdata, 'pg_wal', seg(i));
    writeFileSync(path, `wal-${i}`);
    writeFileSync(join(pgdata, 'pg_wal', 'archive_status', `${seg(i)}.ready`), '');
    fs.put(path, `wal-${i}`);
  }
  const shipped = async (name: string, times: number): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (slave.uploads.filter((n) => n === name).length < times && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(slave.uploads.filter((n) => n === name).length, times, `${name} shipped ${times} time(s)`);
  };
  warm.onReady([seg(10)], Date.now());
  await shipped(seg(10), 1);
  const oldest = [seg(1), seg(2), seg(3)];
  // The watcher holds only the oldest 3 of 10 .ready names: seg(10) is after its horizon, kept.
  warm.onReady(oldest, Date.now() + 1, new Set(oldest), seg(3));
  for (const n of oldest) await shipped(n, 1);
  warm.onReady([...oldest, seg(10)], Date.now() + 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(slave.uploads.filter((n) => n === seg(10)).length, 1, 'kept: not shipped again');
  // The complete list (no horizon) without it: archived, forgotten; listed .ready again, shipped again.
  warm.onReady(oldest, Date.now() + 1, new Set(oldest));
  warm.onReady([seg(10)], Date.now() + 1);
  await shipped(seg(10), 2);
});

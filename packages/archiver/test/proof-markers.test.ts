/**
 * cmd_queue's proof markers, with fake slaves and real files: a marker only for an outcome safe
 * on every slave (delivered, queued, or a detached slave that got it anyway), never for a
 * conflict, a failure, a dropped queue or a detached slave that did not get it; never when the
 * file or the ini changed while it was shipped; none at all when markers are off; markers of
 * segments PostgreSQL has archived are removed; a new daemon starts from an empty directory.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, promises as fsp, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { memoryLogger } from '@pitrtools/core/log';
import type { SlaveContext } from '../src/archive/ports.js';
import { fileIdentity } from '../src/daemon/file-identity.js';
import { ASK_SUFFIX, MARKER_DIR, MARKERS_OFF, ProofMarkers } from '../src/daemon/proof-markers.js';
import type { SlaveWorker } from '../src/daemon/slave-worker.js';
import { WarmArchiver } from '../src/daemon/warm-archiver.js';
import { FakeSlave, MemFs, MemStore, seg } from './fakes.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-markers-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface World {
  pgdata: string;
  queue: string;
  ini: string;
  fs: MemFs;
  slaves: FakeSlave[];
  store: MemStore;
  markers: ProofMarkers;
  warm: WarmArchiver;
  /** Makes pg_wal/NAME (a real file, and the same bytes in the fakes' MemFs). */
  wal(i: number, data?: string): string;
  iniOk: boolean;
}

async function world(o: { slaves?: number; iniIdentity?: string | null; off?: string } = {}): Promise<World> {
  const dir = join(root, `w${n++}`);
  const pgdata = join(dir, 'data');
  mkdirSync(join(pgdata, 'pg_wal'), { recursive: true });
  const queue = join(dir, 'queue');
  mkdirSync(queue, { mode: 0o700 });
  const ini = join(dir, 'a.ini');
  writeFileSync(ini, `[DEFAULT]\nl_archivedir: ${queue}\n`);
  const fs = new MemFs();
  const store = new MemStore(fs);
  const log = memoryLogger();
  const slaves = Array.from({ length: o.slaves ?? 2 }, () => new FakeSlave(fs));
  const workers = slaves.map((link, i) => {
    const ctx: SlaveContext = {
      slave: { name: `s${i}`, endpoint: `pg@s${i}:22`, r_archivedir: '/archive' },
      store,
      link,
      alert: () => undefined,
      now: () => fs.now,
      log,
      limits: { warnBytes: null, criticalBytes: null, maxBytes: null, alertRepeatMs: 3_600_000, drainBudgetMs: 0, configFile: ini },
    };
    return {
      ctx,
      target: { name: `s${i}`, deadlineMs: 60_000 },
      drain: async () => ({ delivered: 0, remaining: [] }),
      nudge: () => undefined,
    } as unknown as SlaveWorker;
  });
  const w = { iniOk: true } as World;
  const iniIdentity = o.iniIdentity === null ? undefined : (o.iniIdentity ?? (await fileIdentity(ini))!.line);
  const markers = new ProofMarkers({
    lArchivedir: queue,
    iniIdentity,
    log,
    iniUnchanged: async () => w.iniOk,
    ...(o.off !== undefined ? { off: o.off } : {}),
  });
  await markers.open();
  const warm = new WarmArchiver({
    pgdata,
    offline: false,
    workers,
    log,
    maxAhead: 6,
    markers,
    mayShipAhead: async () => w.iniOk,
  });
  return Object.assign(w, {
    pgdata,
    queue,
    ini,
    fs,
    slaves,
    store,
    markers,
    warm,
    wal: (i: number, data = `wal-${i}`) => {
      const path = join(pgdata, 'pg_wal', seg(i));
      writeFileSync(path, data);
      // Finished, as PostgreSQL marks it before its archiver (or the look-ahead) sees it.
      mkdirSync(join(pgdata, 'pg_wal', 'archive_status'), { recursive: true });
      writeFileSync(join(pgdata, 'pg_wal', 'archive_status', `${seg(i)}.ready`), '');
      fs.put(path, data);
      return seg(i);
    },
  });
}

const markerDir = (w: World): string => join(w.queue, MARKER_DIR);
const marker = (w: World, name: string): string | undefined => {
  const p = join(markerDir(w), name);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
};
const asked = (w: World, name: string): boolean => existsSync(join(markerDir(w), name + ASK_SUFFIX));
/** The look-ahead sees `name` .ready and ships it; resolves once its shipment settled (upload counts stop changing) or a marker or hint is there. */
async function ship(w: World, name: string, maxMs = 2000): Promise<void> {
  w.warm.onReady([name], Date.now());
  for (const until = Date.now() + maxMs; Date.now() < until && marker(w, name) === undefined && !asked(w, name);) await new Promise((r) => setTimeout(r, 5));
}

describe('a proof marker only for what is safe on every slave', () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
  });

  it("delivered everywhere: the marker holds the file's and the ini's identity, in a 0700 directory", async () => {
    const name = w.wal(1);
    await ship(w, name);
    const text = marker(w, name);
    assert.equal(text, `${(await fileIdentity(join(w.pgdata, 'pg_wal', name)))!.line}\n${(await fileIdentity(w.ini))!.line}\n`);
    assert.equal(statSync(markerDir(w)).mode & 0o777, 0o700);
    assert.equal(statSync(join(markerDir(w), name)).mode & 0o777, 0o600);
    assert.ok(!asked(w, name));
    assert.deepEqual(readdirSync(markerDir(w)), [name], 'no temp file left');
  });

  it('one slave down (queued there): marker', async () => {
    w.slaves[1]!.up = false;
    const name = w.wal(1);
    await ship(w, name);
    assert.equal((await w.store.scan('s1')).files.length, 1, 'queued');
    assert.ok(marker(w, name));
  });

  it('a conflict on one slave: no marker, the hint to ask', async () => {
    const name = w.wal(1);
    w.slaves[0]!.files.set(name, 'something else');
    await ship(w, name);
    assert.equal(marker(w, name), undefined);
    assert.ok(asked(w, name), 'cmd_archiver does the job itself and says what is wrong');
  });

  it('the queue cannot be written (a failure): no marker', async () => {
    w.slaves[1]!.up = false;
    w.store.failEnqueueAt = 1;
    const name = w.wal(1);
    await ship(w, name);
    assert.equal(marker(w, name), undefined);
    assert.ok(asked(w, name));
  });

  it('a detached slave that did not get it: no marker (the promise does not cover it); one that did: marker', async () => {
    w.fs.put(w.store.path('s1', 'NEEDS_BASE_BACKUP'), 'dropped');
    w.slaves[1]!.up = false;
    const a = w.wal(1);
    await ship(w, a);
    assert.equal(marker(w, a), undefined);
    assert.ok(asked(w, a));
    w.slaves[1]!.up = true;
    const b = w.wal(2);
    await ship(w, b);
    assert.ok(marker(w, b));
  });

  it('the queue dropped at queue_max_bytes just now: no marker', async () => {
    const small = await world();
    const ctx = (small.warm as unknown as { d: { workers: Array<{ ctx: SlaveContext }> } }).d.workers[1]!.ctx;
    ctx.limits = { ...ctx.limits, maxBytes: 3 };
    small.slaves[1]!.up = false;
    const name = small.wal(1);
    await ship(small, name);
    assert.equal(marker(small, name), undefined);
    assert.ok(asked(small, name));
  });

  it('the file changed while it was shipped: no marker', async () => {
    const name = w.wal(1);
    w.slaves[1]!.onUpload = () => appendFileSync(join(w.pgdata, 'pg_wal', name), 'more');
    await ship(w, name);
    assert.equal(marker(w, name), undefined);
    assert.ok(asked(w, name));
  });

  it('the ini changed while it was shipped: no marker', async () => {
    const name = w.wal(1);
    w.slaves[1]!.onUpload = () => {
      w.iniOk = false;
    };
    await ship(w, name, 300);
    assert.deepEqual(w.slaves[1]!.uploads, [name], 'shipped');
    assert.equal(marker(w, name), undefined);
  });

  it('shipped ahead from the look-ahead: the marker is there before PostgreSQL asks', async () => {
    const names = [w.wal(1), w.wal(2), w.wal(3)];
    w.warm.onReady(names);
    for (let i = 0; i < 200 && names.some((x) => marker(w, x) === undefined); i++) await new Promise((r) => setTimeout(r, 5));
    for (const x of names) assert.ok(marker(w, x), x);
    assert.deepEqual(w.slaves[0]!.uploads, names, 'in WAL order');
  });

  it('the ini changed: the look-ahead ships nothing more (it may say state: offline now)', async () => {
    const names = [w.wal(1), w.wal(2)];
    w.iniOk = false;
    w.warm.onReady(names);
    await new Promise((r) => setTimeout(r, 50));
    for (const s of w.slaves) assert.deepEqual(s.uploads, []);
    assert.deepEqual(readdirSync(markerDir(w)), []);
  });

  it('markers of segments no longer .ready are removed, but only those settled before the scan began', async () => {
    const [a, b] = [w.wal(1), w.wal(2)];
    w.warm.onReady([a, b], Date.now());
    for (let i = 0; i < 400 && (marker(w, a) === undefined || marker(w, b) === undefined); i++) await new Promise((r) => setTimeout(r, 5));
    w.warm.onReady([b], 0); // a scan that started before both were written: removes nothing
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(marker(w, a) && marker(w, b));
    w.warm.onReady([b], Date.now() + 1);
    for (let i = 0; i < 100 && marker(w, a) !== undefined; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(marker(w, a), undefined);
    assert.ok(marker(w, b));
  });
});

describe('markers off, and a new daemon', () => {
  it('offline, or an ini that cannot be identified: .off and never a marker', async () => {
    for (const o of [{ off: 'state is offline' }, { iniIdentity: null }] as const) {
      const w = await world(o);
      assert.ok(existsSync(join(markerDir(w), MARKERS_OFF)));
      const name = w.wal(1);
      await ship(w, name, 300);
      assert.deepEqual(readdirSync(markerDir(w)), [MARKERS_OFF]);
    }
  });

  it('open() removes what an earlier daemon left, .off included, and makes the directory 0700 again', async () => {
    const w = await world({ off: 'offline' });
    writeFileSync(join(markerDir(w), seg(9)), 'stale\n');
    writeFileSync(join(markerDir(w), `.${seg(9)}.abc.tmp`), '');
    const again = new ProofMarkers({ lArchivedir: w.queue, iniIdentity: 'x', iniUnchanged: async () => true, log: memoryLogger() });
    await again.open();
    assert.deepEqual(readdirSync(markerDir(w)), []);
    assert.ok(again.on);
  });
});

describe('the proof-marker directory costs the same per segment however many markers it holds (issue 17)', () => {
  it('with 2 000 markers written, each archived segment costs two removals and no directory read', async () => {
    const dir = join(root, `flat${n++}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'segment');
    writeFileSync(file, 'x');
    const id = (await fileIdentity(file))!.line;
    const markers = new ProofMarkers({ lArchivedir: dir, iniIdentity: 'ini', iniUnchanged: async () => true, log: memoryLogger() });
    await markers.open();
    for (let i = 1; i <= 2000; i++) assert.ok(await markers.prove(seg(i), file, id));
    const api = fsp as unknown as Record<string, (...a: unknown[]) => unknown>;
    const real = { rm: api.rm!, readdir: api.readdir!, opendir: api.opendir! };
    const calls = { rm: 0, readdir: 0, opendir: 0 };
    for (const k of ['rm', 'readdir', 'opendir'] as const)
      api[k] = (...a: unknown[]) => {
        calls[k]++;
        return real[k](...a);
      };
    const archived = new Set<string>();
    try {
      const later = Date.now() + 1;
      for (let i = 1; i <= 10; i++) {
        archived.add(seg(i));
        await markers.forget((name) => archived.has(name), later);
      }
    } finally {
      Object.assign(api, real);
    }
    assert.deepEqual(calls, { rm: 20, readdir: 0, opendir: 0 }, 'the marker and its .ask hint of each archived segment, nothing else');
    assert.ok(!existsSync(join(dir, MARKER_DIR, seg(10))) && existsSync(join(dir, MARKER_DIR, seg(11))));
  });
});

/**
 * The look-ahead over a real archive_status with thousands of files: a new `.ready` (or one
 * renamed to `.done`) is noticed with one lstat of that name, not by reading the whole directory
 * again (issue 17: per-segment work independent of what archive_status holds); and only the
 * oldest `hold` names are held, whatever archive_status holds (memory independent of the backlog).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, promises as fsp, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { memoryLogger } from '@pitrtools/core/log';
import { watchReady } from '../src/daemon/lookahead.js';
import { seg } from './fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-lookahead-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('with 4 000 .done and 2 000 .ready files, each new .ready and each .done costs no directory read', async () => {
  const status = join(dir, 'pg_wal', 'archive_status');
  mkdirSync(status, { recursive: true });
  for (let i = 1; i <= 6000; i++) writeFileSync(join(status, `${seg(i)}.${i <= 4000 ? 'done' : 'ready'}`), '');
  let last: { names: string[]; ready: ReadonlySet<string> } = { names: [], ready: new Set() };
  // The set is built here from the names, so the test reads the same on any watcher.
  // scanMs far beyond the test: only the first read and the events count.
  // A window wider than archive_status: this test is about the cost of one change.
  const w = watchReady(
    dir,
    3_600_000,
    memoryLogger(),
    (names) => {
      last = { names: [...names], ready: new Set(names) };
    },
    10_000,
  );
  try {
    await until('the first read', () => last.names.length === 2000);
    assert.equal(last.names[0], seg(4001));
    // Both ways of reading a directory (the look-ahead reads with opendir since b6845d5).
    const api = fsp as unknown as Record<string, (...a: unknown[]) => unknown>;
    const readdir = api.readdir!;
    const opendir = api.opendir!;
    let reads = 0;
    api.readdir = (...a: unknown[]) => {
      reads++;
      return readdir(...a);
    };
    api.opendir = (...a: unknown[]) => {
      reads++;
      return opendir(...a);
    };
    try {
      for (let i = 6001; i <= 6020; i++) {
        writeFileSync(join(status, `${seg(i)}.ready`), '');
        await until(`${seg(i)} seen`, () => last.ready.has(seg(i)));
      }
      assert.deepEqual(
        last.names.slice(-21),
        Array.from({ length: 21 }, (_, k) => seg(6000 + k)),
        'kept in WAL order',
      );
      for (let i = 4001; i <= 4010; i++) {
        renameSync(join(status, `${seg(i)}.ready`), join(status, `${seg(i)}.done`));
        await until(`${seg(i)} archived`, () => !last.ready.has(seg(i)));
      }
      assert.equal(last.names[0], seg(4011));
      assert.equal(last.names.length, 2010);
    } finally {
      api.readdir = readdir;
      api.opendir = opendir;
    }
    assert.equal(reads, 0, 'archive_status was read again for a single change');
  } finally {
    w.stop();
  }
});

it('a full read every scanMs still catches what events missed', async () => {
  const root = join(dir, 'b');
  const status = join(root, 'pg_wal', 'archive_status');
  mkdirSync(status, { recursive: true });
  let names: string[] = [];
  const w = watchReady(root, 50, memoryLogger(), (n) => {
    names = [...n];
  });
  try {
    writeFileSync(join(status, `${seg(2)}.ready`), '');
    writeFileSync(join(status, `${seg(1)}.ready`), '');
    await until('both', () => names.length === 2);
    assert.deepEqual(names, [seg(1), seg(2)]);
  } finally {
    w.stop();
  }
});

it('with 5 000 .ready files only the oldest 64 are held, in WAL order; as PostgreSQL archives them the window moves on', async () => {
  const root = join(dir, 'c');
  const status = join(root, 'pg_wal', 'archive_status');
  mkdirSync(status, { recursive: true });
  // Created newest first, so the directory's order is not WAL order.
  for (let i = 5000; i >= 1; i--) writeFileSync(join(status, `${seg(i)}.ready`), '');
  let last: { names: string[]; horizon: string | undefined } = { names: [], horizon: undefined };
  let most = 0;
  const w = watchReady(
    root,
    3_600_000,
    memoryLogger(),
    (names, _at, _ready, horizon) => {
      most = Math.max(most, names.length);
      last = { names: [...names], horizon };
    },
    64,
  );
  try {
    await until('the first read', () => last.names.length > 0);
    assert.equal(last.names.length, 64, `${last.names.length} names held of 5 000 .ready`);
    assert.deepEqual(
      last.names,
      Array.from({ length: 64 }, (_, k) => seg(k + 1)),
      'the oldest, in WAL order',
    );
    assert.equal(last.horizon, seg(64), 'the newest held: what comes after it is not known');
    writeFileSync(join(status, `${seg(6000)}.ready`), '');
    // PostgreSQL archives the oldest 40: once half the window is gone, a read refills it.
    for (let i = 1; i <= 40; i++) renameSync(join(status, `${seg(i)}.ready`), join(status, `${seg(i)}.done`));
    await until('the window moved on', () => last.names[0] === seg(41) && last.names.length === 64);
    assert.deepEqual(
      last.names,
      Array.from({ length: 64 }, (_, k) => seg(k + 41)),
    );
    assert.ok(!last.names.includes(seg(6000)));
    assert.equal(most, 64, 'never more than 64 names held');
  } finally {
    w.stop();
  }
});

/** The queue store on a real directory: order, no-clobber, and claims that only one racer wins. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, mock } from 'node:test';
import { promises as fsp } from 'node:fs';
import { fsQueueStore } from '../src/adapters/fs-queue-store.js';
import { seg } from './fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-queue-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('fsQueueStore', () => {
  const root = join(dir, 'queue');
  const store = fsQueueStore(root);
  const src = (name: string, data: string): string => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };

  it('refuses to queue without l_archivedir, with the -I hint', async () => {
    await assert.rejects(
      store.enqueue('s1', src('a', 'x'), seg(1)),
      (e: Error & { code?: string; hint?: string }) => e.code === 'QUEUE_MISSING' && /-I/.test(e.hint ?? ''),
    );
  });

  it('enqueue creates the slave dir 0700, files 0600, never overwrites; scan lists WAL files in WAL order', async () => {
    (await import('node:fs')).mkdirSync(root, { mode: 0o700 });
    assert.equal(await store.enqueue('s1', src('b', 'bb'), seg(2)), 'created');
    assert.equal(await store.enqueue('s1', src('a', 'a'), seg(1)), 'created');
    assert.equal(await store.enqueue('s1', src('b', 'bb'), seg(2)), 'identical');
    assert.equal(await store.enqueue('s1', src('c', 'cc'), seg(2)), 'conflict');
    assert.equal(readFileSync(join(root, 's1', seg(2)), 'utf8'), 'bb');
    assert.equal(statSync(join(root, 's1')).mode & 0o777, 0o700);
    assert.equal(statSync(join(root, 's1', seg(1))).mode & 0o777, 0o600);
    writeFileSync(join(root, 's1', `.${seg(3)}.123.abcd.tmp`), 'partial copy of a killed writer');
    writeFileSync(join(root, 's1', 'README'), 'not a segment');
    const scan = await store.scan('s1');
    assert.deepEqual(
      scan.files.map((f) => [f.name, f.size]),
      [
        [seg(1), 1],
        [seg(2), 2],
      ],
    );
    assert.equal(scan.detached, undefined);
    assert.deepEqual([...scan.claims], []);
    assert.deepEqual((await store.scan('nobody')).files, []);
  });

  it('of 20 concurrent claims exactly one wins; of 20 concurrent releases exactly one gets the content', async () => {
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim('s1', '.outage', `claimer ${i}\n`)));
    assert.equal(wins.filter(Boolean).length, 1);
    const winner = wins.indexOf(true);
    assert.equal(await store.read('s1', '.outage'), `claimer ${winner}\n`);
    await store.append('s1', '.outage', `${seg(1)}\n`);
    assert.ok(await store.claim('s1', '.outage.1', ''));
    const got = await Promise.all(Array.from({ length: 20 }, () => store.release('s1', '.outage')));
    const taken = got.filter((t) => t !== undefined);
    assert.deepEqual(taken, [`claimer ${winner}\n${seg(1)}\n`]);
    assert.ok(!readdirSync(join(root, 's1')).some((n) => n.startsWith('.outage')), 'repeats and temps gone too');
  });

  it('append never creates a claim; claims in l_archivedir itself use scope ""', async () => {
    await store.append('s1', '.outage', 'x\n');
    assert.equal(await store.read('s1', '.outage'), undefined);
    assert.ok(await store.claim('', '.offline', 't\n'));
    assert.ok(!(await store.claim('', '.offline', 't\n')));
    assert.equal(await store.release('', '.offline'), 't\n');
    assert.equal(await store.release('', '.offline'), undefined);
  });

  it('drop writes the marker and deletes only WAL files; a second drop finds the marker; resetMarker removes it once', async () => {
    assert.deepEqual(await store.drop('s1', 'why\n'), { created: true, deleted: 2 });
    assert.deepEqual(await store.drop('s1', 'again\n'), { created: false, deleted: 0 });
    const left = readdirSync(join(root, 's1')).sort();
    assert.deepEqual(
      left.filter((f) => !f.startsWith('.')),
      ['NEEDS_BASE_BACKUP', 'README'],
    );
    assert.equal((await store.scan('s1')).detached, 'why\n');
    assert.equal(await store.resetMarker('s1'), true);
    assert.equal(await store.resetMarker('s1'), false);
  });
});

// The queue copy is the promise when a slave failed: every step (fsync of the copy, link, fsync of
// the directory) must succeed, or the segment is not safely queued and cmd_archiver exits 1.
describe('fsQueueStore: a failed durability step is not a queued segment', () => {
  const root = join(dir, 'queue-faults');
  const store = fsQueueStore(root);
  const src = join(dir, 'fault-src');
  const eio = (what: string): Error => Object.assign(new Error(`EIO: i/o error, ${what} (injected)`), { code: 'EIO' });
  // FileHandle.prototype.sync serves the copy's fsync and the directories': fail every call, or
  // only those after the link(2) into place was tried (the existing copy's and the directory's).
  const failSync = async (afterLink: boolean): Promise<{ calls: () => number; restore: () => void }> => {
    const fh = await fsp.open(src, 'r');
    const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void> };
    await fh.close();
    const sync = proto.sync;
    const link = fsp.link;
    let linked = false;
    let failed = 0;
    const l = mock.method(fsp, 'link', async (a: string, b: string) => {
      linked = true;
      return link(a, b);
    });
    const m = mock.method(proto, 'sync', async function (this: unknown) {
      if (!afterLink || linked) {
        failed++;
        throw eio('fsync');
      }
      return sync.call(this);
    });
    return {
      calls: () => failed,
      restore: () => {
        m.mock.restore();
        l.mock.restore();
      },
    };
  };
  const temps = (): string[] => readdirSync(join(root, 's1')).filter((n) => n.endsWith('.tmp'));

  it('a failed directory fsync after the link: enqueue rejects', async () => {
    (await import('node:fs')).mkdirSync(root, { mode: 0o700 });
    writeFileSync(src, 'segment bytes');
    assert.equal(await store.enqueue('s1', src, seg(9)), 'created'); // creates s1 outside the fault
    const f = await failSync(true);
    try {
      await assert.rejects(store.enqueue('s1', src, seg(1)), /EIO: i\/o error, fsync/);
    } finally {
      f.restore();
    }
    assert.deepEqual(temps(), []);
  });

  it('a copy already there with the same bytes is fsynced (file and directory) before it counts: a failure rejects', async () => {
    // An earlier run linked seg(2) and died (or failed) before its fsyncs: "identical" must not be taken on trust.
    writeFileSync(join(root, 's1', seg(2)), 'segment bytes');
    const f = await failSync(true);
    try {
      await assert.rejects(store.enqueue('s1', src, seg(2)), /EIO/);
      assert.equal(f.calls(), 1, 'the existing copy was fsynced (and the failure stopped there)');
    } finally {
      f.restore();
    }
    assert.equal(await store.enqueue('s1', src, seg(2)), 'identical', 'and without the fault it is identical');
    assert.deepEqual(temps(), []);
  });

  it('a failed fsync of the copy, or a failed link: enqueue rejects and leaves neither a file nor a temp', async () => {
    const f = await failSync(false);
    try {
      await assert.rejects(store.enqueue('s1', src, seg(3)), /EIO/);
    } finally {
      f.restore();
    }
    const link = mock.method(fsp, 'link', async () => {
      throw eio('link');
    });
    try {
      await assert.rejects(store.enqueue('s1', src, seg(4)), /EIO: i\/o error, link/);
    } finally {
      link.mock.restore();
    }
    const names = readdirSync(join(root, 's1'));
    assert.ok(!names.includes(seg(3)) && !names.includes(seg(4)), names.join(' '));
    assert.deepEqual(temps(), []);
  });
});

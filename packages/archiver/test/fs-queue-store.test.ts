/** The queue store on a real directory: order, no-clobber, and claims that only one racer wins. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
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
    await assert.rejects(store.enqueue('s1', src('a', 'x'), seg(1)), (e: Error & { code?: string; hint?: string }) =>
      e.code === 'QUEUE_MISSING' && /-I/.test(e.hint ?? ''));
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
    assert.deepEqual(scan.files.map((f) => [f.name, f.size]), [[seg(1), 1], [seg(2), 2]]);
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
    assert.deepEqual(left.filter((f) => !f.startsWith('.')), ['NEEDS_BASE_BACKUP', 'README']);
    assert.equal((await store.scan('s1')).detached, 'why\n');
    assert.equal(await store.resetMarker('s1'), true);
    assert.equal(await store.resetMarker('s1'), false);
  });
});

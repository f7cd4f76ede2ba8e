/**
 * Directories we write in must be ours, and our files are never opened through a symbolic link
 * (issue 10, class 3), on real files as the test user: a queue directory others can write is
 * refused (exit 2) before anything is queued; a link planted as cmd_queue.log, the pid file, a
 * claim, a proof marker, its `.ask` hint or `.off` is refused loudly and its target is unchanged.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PitrError } from '@pitrtools/core/errors';
import { memoryLogger } from '@pitrtools/core/log';
import * as queueStore from '../src/adapters/fs-queue-store.js';
import { fileSink } from '../src/cli/setup.js';
import { fileIdentity } from '../src/daemon/file-identity.js';
import { acquirePidFile, PID_FILE } from '../src/daemon/pidfile.js';
import { ASK_SUFFIX, MARKER_DIR, MARKERS_OFF, ProofMarkers } from '../src/daemon/proof-markers.js';
import { seg } from './fakes.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-own-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh l_archivedir (0700) with a file `target` beside it that no link may change. */
function place(): { q: string; target: string } {
  const d = join(root, `w${n++}`);
  mkdirSync(join(d, 'queue'), { recursive: true, mode: 0o700 });
  const target = join(d, 'target');
  writeFileSync(target, 'precious\n');
  return { q: join(d, 'queue'), target };
}

const isCode =
  (code: string, path?: string) =>
  (e: unknown): boolean =>
    e instanceof PitrError && e.code === code && e.exitCode === 2 && (path === undefined || e.message.includes(path));

describe('queue directories', () => {
  it('l_archivedir or a queue others can write: refused (exit 2) with chmod as the fix, nothing queued', async () => {
    const { checkQueueDirs, fsQueueStore } = queueStore;
    const { q } = place();
    const src = join(q, '..', 'src');
    writeFileSync(src, 'wal');
    chmodSync(q, 0o777);
    await assert.rejects(checkQueueDirs(q, ['s1']), isCode('DIR_NOT_PRIVATE', q));
    await assert.rejects(fsQueueStore(q).enqueue('s1', src, seg(1)), isCode('DIR_NOT_PRIVATE', q));
    assert.deepEqual(readdirSync(q), [], 'no queue created in it');
    chmodSync(q, 0o700);
    mkdirSync(join(q, 's1'), { mode: 0o700 });
    chmodSync(join(q, 's1'), 0o770);
    await assert.rejects(
      checkQueueDirs(q, ['s1']),
      (e: unknown) =>
        isCode('DIR_NOT_PRIVATE', join(q, 's1'))(e) &&
        /the queue of slave s1/.test((e as Error).message) &&
        (e as PitrError).hint === `chmod 0700 ${join(q, 's1')}`,
    );
    await assert.rejects(fsQueueStore(q).enqueue('s1', src, seg(1)), isCode('DIR_NOT_PRIVATE'));
    await assert.rejects(fsQueueStore(q).scan('s1'), isCode('DIR_NOT_PRIVATE'));
    assert.deepEqual(readdirSync(join(q, 's1')), [], 'nothing queued in it');
    chmodSync(join(q, 's1'), 0o700);
    await checkQueueDirs(q, ['s1', 'not-yet-created']);
    assert.equal(await fsQueueStore(q).enqueue('s1', src, seg(1)), 'created');
  });

  it('a link planted as a claim: claim and append refuse it, its target unchanged', async () => {
    const { q, target } = place();
    mkdirSync(join(q, 's1'), { mode: 0o700 });
    symlinkSync(target, join(q, 's1', '.outage'));
    const store = queueStore.fsQueueStore(q);
    await assert.rejects(store.claim('s1', '.outage', '{"since":1}\n'), isCode('SYMLINK_REFUSED', join(q, 's1', '.outage')));
    await assert.rejects(store.append('s1', '.outage', `${seg(1)}\n`), isCode('SYMLINK_REFUSED'));
    await assert.rejects(store.read('s1', '.outage'), isCode('SYMLINK_REFUSED'));
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  });
});

describe('cmd_queue files', () => {
  it('a link planted as cmd_queue.log: fileSink refuses it (exit 2), the target is unchanged', () => {
    const { q, target } = place();
    const log = join(q, 'cmd_queue.log');
    symlinkSync(target, log);
    assert.throws(() => fileSink(log), isCode('SYMLINK_REFUSED', log));
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    rmSync(log);
    const s = fileSink(log);
    s.sink('INFO', 'a line', 'a line');
    s.close();
    assert.equal(readFileSync(log, 'utf8'), 'a line\n');
    assert.equal(lstatSync(log).mode & 0o777, 0o600);
  });

  it('a link planted as the pid file: refused (exit 2), neither read through nor removed', async () => {
    const { q, target } = place();
    writeFileSync(target, `${process.pid}\n`);
    symlinkSync(target, join(q, PID_FILE));
    await assert.rejects(acquirePidFile(q), isCode('SYMLINK_REFUSED', join(q, PID_FILE)));
    assert.ok(lstatSync(join(q, PID_FILE)).isSymbolicLink(), 'the link is left for the operator to see');
    assert.equal(readFileSync(target, 'utf8'), `${process.pid}\n`);
  });

  it('proof markers: a linked marker directory or .off stops cmd_queue; a linked marker or .ask is never written through', async () => {
    const log = memoryLogger();
    const opts = (q: string, on: boolean) => ({ lArchivedir: q, iniIdentity: on ? 'ini-id' : undefined, iniUnchanged: async () => true, log });
    // The directory itself a link (to a directory of ours that looks fine).
    const a = place();
    mkdirSync(`${a.q}.elsewhere`, { mode: 0o700 });
    symlinkSync(`${a.q}.elsewhere`, join(a.q, MARKER_DIR));
    await assert.rejects(new ProofMarkers(opts(a.q, true)).open(), isCode('DIR_NOT_PRIVATE', join(a.q, MARKER_DIR)));
    // .off a link, markers off.
    const b = place();
    mkdirSync(join(b.q, MARKER_DIR), { mode: 0o700 });
    symlinkSync(b.target, join(b.q, MARKER_DIR, MARKERS_OFF));
    await assert.rejects(new ProofMarkers(opts(b.q, false)).open(), isCode('SYMLINK_REFUSED'));
    assert.equal(readFileSync(b.target, 'utf8'), 'precious\n');
    // A marker and a hint planted as links, markers on.
    const c = place();
    const m = new ProofMarkers(opts(c.q, true));
    await m.open();
    const wal = join(c.q, '..', seg(1));
    writeFileSync(wal, 'wal');
    symlinkSync(c.target, join(c.q, MARKER_DIR, seg(2) + ASK_SUFFIX));
    await m.ask(seg(2));
    assert.equal(readFileSync(c.target, 'utf8'), 'precious\n', '.ask not written through the link');
    symlinkSync(c.target, join(c.q, MARKER_DIR, seg(1)));
    assert.equal(await m.prove(seg(1), wal, (await fileIdentity(wal))!.line), false);
    assert.ok(lstatSync(join(c.q, MARKER_DIR, seg(1))).isSymbolicLink(), 'the link is not silently replaced');
    assert.equal(readFileSync(c.target, 'utf8'), 'precious\n');
    assert.ok(
      log.lines.some((l) => /WARNING: .*symbolic link/.test(l)),
      log.lines.join('\n'),
    );
    assert.ok(!existsSync(join(c.q, MARKER_DIR, `${seg(1)}.tmp`)));
  });
});

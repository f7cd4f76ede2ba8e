/**
 * cmd_archiver -F's wait for cmd_queue's proof marker (warm/await-proof.ts), on real files: it
 * accepts exactly what the sh front end accepts (a marker whose two lines are the file's and the
 * ini's identity now, in private directories), and stops waiting as soon as no marker can come
 * (`.ask`, `.off`, the daemon gone, the deadline), so the caller does the job itself.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { memoryLogger } from '@pitrtools/core/log';
import { fileIdentity } from '../src/daemon/file-identity.js';
import { ASK_SUFFIX, MARKER_DIR, MARKERS_OFF, ProofMarkers } from '../src/daemon/proof-markers.js';
import { awaitProof, markerProves, type ProofWait } from '../src/warm/await-proof.js';
import { seg } from './fakes.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-await-proof-'));
let daemon: ChildProcess;
before(() => {
  // A live process whose command line names cmd_queue, as isQueueProcess checks it.
  daemon = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'cmd_queue'], { stdio: 'ignore' });
});
after(() => {
  daemon.kill();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;

async function place(): Promise<{ w: ProofWait; markers: ProofMarkers }> {
  const d = join(root, `p${n++}`);
  const q = join(d, 'queue');
  mkdirSync(join(d, 'pg_wal'), { recursive: true });
  mkdirSync(q, { mode: 0o700 });
  const ini = join(d, 'a.ini');
  writeFileSync(ini, '[DEFAULT]\n');
  const name = seg(1);
  const wal = join(d, 'pg_wal', name);
  writeFileSync(wal, 'wal-1');
  const markers = new ProofMarkers({ lArchivedir: q, iniIdentity: (await fileIdentity(ini))!.line, iniUnchanged: async () => true, log: memoryLogger() });
  await markers.open();
  return { w: { lArchivedir: q, ini, wal, name, daemonPid: daemon.pid!, deadlineMs: 5000, pollMs: 5 }, markers };
}
const prove = async (p: { w: ProofWait; markers: ProofMarkers }): Promise<boolean> => p.markers.prove(p.w.name, p.w.wal, (await fileIdentity(p.w.wal))!.line);

describe('awaitProof', () => {
  it('a marker for this very file and ini proves it, also one that comes while waiting', async () => {
    const p = await place();
    assert.ok(await prove(p));
    assert.deepEqual(await awaitProof(p.w), { proved: true });
    const q = await place();
    setTimeout(() => void prove(q), 100);
    assert.deepEqual(await awaitProof(q.w), { proved: true });
  });

  it('a marker that no longer fits the file or the ini proves nothing', async () => {
    const p = await place();
    assert.ok(await prove(p));
    appendFileSync(p.w.wal, 'more');
    const a = await awaitProof(p.w);
    assert.ok(!a.proved && /does not prove/.test(a.reason), JSON.stringify(a));
    const q = await place();
    assert.ok(await prove(q));
    appendFileSync(q.w.ini, '; edited\n');
    assert.equal(await markerProves(q.w), false);
  });

  it('directories others can write make every marker worthless, as in the sh front end', async () => {
    const p = await place();
    assert.ok(await prove(p));
    chmodSync(p.w.lArchivedir, 0o770);
    assert.equal(await markerProves(p.w), false);
    chmodSync(p.w.lArchivedir, 0o700);
    chmodSync(join(p.w.lArchivedir, MARKER_DIR), 0o750);
    assert.equal(await markerProves(p.w), false);
    chmodSync(join(p.w.lArchivedir, MARKER_DIR), 0o700);
    assert.equal(await markerProves(p.w), true);
  });

  it('stops at once on .ask, .off or a daemon that is gone, and at the deadline', async () => {
    const p = await place();
    writeFileSync(join(p.w.lArchivedir, MARKER_DIR, p.w.name + ASK_SUFFIX), '');
    const t0 = Date.now();
    const a = await awaitProof({ ...p.w, deadlineMs: 60_000 });
    assert.ok(!a.proved && a.reason.includes(ASK_SUFFIX), JSON.stringify(a));
    const q = await place();
    writeFileSync(join(q.w.lArchivedir, MARKER_DIR, MARKERS_OFF), 'offline\n');
    const b = await awaitProof({ ...q.w, deadlineMs: 60_000 });
    assert.ok(!b.proved && /no proof markers/.test(b.reason), JSON.stringify(b));
    const r = await place();
    const c = await awaitProof({ ...r.w, daemonPid: process.pid, deadlineMs: 60_000 });
    assert.ok(!c.proved && /is gone/.test(c.reason), JSON.stringify(c));
    assert.ok(Date.now() - t0 < 30_000, 'none of them waited for the deadline');
    const d = await awaitProof({ ...r.w, deadlineMs: 50 });
    assert.ok(!d.proved && /within 50 ms/.test(d.reason), JSON.stringify(d));
  });
});

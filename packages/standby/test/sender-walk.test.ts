/**
 * -B's walk through the block sender (sender-walk.ts), without a network: the master's sender and
 * the standby's channel joined by pipes, a real directory tree as the master. A listing must be
 * what SFTP's readdir gives (lstat's view, symlinks not followed), cost one request per directory
 * whatever it holds, fail as SFTP fails, and never hold up the channel when the walk leaves a
 * listing half way.
 */
import assert from 'node:assert/strict';
import { type Stats, chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { SshErrorCode, isSshError, type RemoteDirEntry } from '@pitrtools/core/ssh/index';
import { BlockChannel } from '../src/basebackup/block-channel.js';
import { LIST_FRAME_ENTRIES } from '../src/basebackup/block-frames.js';
import { serveSendFiles } from '../src/basebackup/block-sender.js';
import { emptyPlan, planTree, type FileJob, type WalkChannel } from '../src/basebackup/plan.js';
import { SenderWalk } from '../src/basebackup/sender-walk.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-sender-walk-'));
after(() => rmSync(root, { recursive: true, force: true }));

const BIG = 700; // more than two N frames

// The master: data/ with base/5 (BIG relation files), global/, a symlink to a directory elsewhere,
// a symlink to a file, a dangling symlink, and a regular file where a directory could be.
const master = join(root, 'master');
const data = join(master, 'data');
mkdirSync(join(data, 'base', '5'), { recursive: true });
mkdirSync(join(data, 'global'));
mkdirSync(join(master, 'elsewhere', 'log'), { recursive: true });
for (let i = 0; i < BIG; i++) writeFileSync(join(data, 'base', '5', String(16384 + i)), Buffer.alloc(i % 3 === 0 ? 8192 : 0));
writeFileSync(join(data, 'global', 'pg_control'), Buffer.alloc(8192));
writeFileSync(join(data, 'PG_VERSION'), '15\n');
writeFileSync(join(master, 'elsewhere', 'log', 'a.log'), 'x');
symlinkSync(join(master, 'elsewhere', 'log'), join(data, 'log'));
symlinkSync(join(data, 'PG_VERSION'), join(data, 'version-link'));
symlinkSync(join(master, 'nowhere'), join(data, 'dangling'));

/** A sender served in this process; `types` counts the frame types the standby sent. */
async function walkPair(): Promise<{ walk: SenderWalk; types: Map<string, number> }> {
  const toMaster = new PassThrough();
  const fromMaster = new PassThrough();
  const types = new Map<string, number>();
  let held = Buffer.alloc(0);
  toMaster.on('data', (d: Buffer) => {
    held = Buffer.concat([held, d]);
    while (held.length >= 5 && held.length >= 5 + held.readUInt32BE(1)) {
      const t = String.fromCharCode(held[0]!);
      types.set(t, (types.get(t) ?? 0) + 1);
      held = held.subarray(5 + held.readUInt32BE(1));
    }
  });
  void serveSendFiles(toMaster, async (b) => void fromMaster.write(b)).catch(() => undefined);
  const ch = await BlockChannel.start(Duplex.from({ readable: fromMaster, writable: toMaster }), 'none');
  return { walk: SenderWalk.over(ch), types };
}

async function listAll(ch: WalkChannel, dir: string): Promise<{ entries: RemoteDirEntry[]; batches: number[] }> {
  const entries: RemoteDirEntry[] = [];
  const batches: number[] = [];
  for await (const b of ch.readdirBatches(dir)) {
    batches.push(b.length);
    entries.push(...b);
  }
  return { entries, batches };
}

test("a listing through the sender is SFTP readdir's view: every entry, lstat's type, size and whole-second mtime", async () => {
  const { walk, types } = await walkPair();
  for (const dir of [data, join(data, 'base', '5')]) {
    const { entries, batches } = await listAll(walk, dir);
    assert.deepEqual(entries.map((e) => e.name).sort(), readdirSync(dir).sort());
    for (const e of entries) {
      const st = lstatSync(join(dir, e.name));
      assert.equal(e.isFile, st.isFile(), e.name);
      assert.equal(e.isDirectory, st.isDirectory(), e.name);
      assert.equal(e.isSymbolicLink, st.isSymbolicLink(), e.name);
      assert.equal(e.size, st.size, e.name);
      assert.equal(e.mtime, Math.floor(st.mtimeMs / 1000), e.name);
      assert.equal(e.mode, st.mode, e.name);
    }
    assert.ok(
      batches.every((n) => n <= LIST_FRAME_ENTRIES + 32),
      `batches of ${batches.join(', ')} entries: one frame's each`,
    );
    if (dir !== data) assert.ok(batches.length >= 3, `${BIG} entries came in ${batches.length} frame(s)`);
  }
  assert.equal(types.get('L'), 2, 'one request per directory, whatever it holds');
  // A symlink is followed by stat only: to a directory, to a file; a dangling one is not there.
  assert.equal((await walk.stat(join(data, 'log'))).isDirectory, true);
  assert.equal((await walk.stat(join(data, 'version-link'))).size, 3);
  assert.equal((await walk.lstat(join(data, 'dangling'))).isSymbolicLink, true);
  await assert.rejects(walk.stat(join(data, 'dangling')), (e: unknown) => isSshError(e, SshErrorCode.SFTP_NO_SUCH_FILE));
  walk.end();
});

test("a directory that is not there, or a file, fails as SFTP says it (no such file); one that cannot be read with the master's words; the channel goes on serving", async () => {
  const { walk } = await walkPair();
  await assert.rejects(listAll(walk, join(data, 'gone')), (e: unknown) => isSshError(e, SshErrorCode.SFTP_NO_SUCH_FILE));
  // OpenSSH's sftp-server maps ENOTDIR to no such file too (errno_to_portable).
  await assert.rejects(listAll(walk, join(data, 'PG_VERSION')), (e: unknown) => isSshError(e, SshErrorCode.SFTP_NO_SUCH_FILE));
  const locked = join(master, 'locked');
  mkdirSync(locked, { mode: 0o000 });
  try {
    await assert.rejects(
      listAll(walk, locked),
      (e: unknown) => isSshError(e, SshErrorCode.SFTP_FAILURE) && /EACCES: permission denied, opendir/.test(String(e)),
    );
  } finally {
    chmodSync(locked, 0o700);
  }
  await assert.rejects(walk.lstat(join(data, 'gone')), (e: unknown) => isSshError(e, SshErrorCode.SFTP_NO_SUCH_FILE));
  assert.equal((await listAll(walk, join(data, 'global'))).entries.length, 1);
  walk.end();
});

test('a symlink met half way through a big listing is stat-ed from that listing, never by a request that would wait behind it (a dangling one fails as SFTP says it)', async () => {
  // base/6: BIG files, then symlinks to a file and to nowhere; the listing is read a frame at a
  // time, and each symlink is stat-ed before the rest of the listing is read, as the walk does.
  const db = join(data, 'base', '6');
  mkdirSync(db);
  for (let i = 0; i < BIG; i++) writeFileSync(join(db, String(20000 + i)), '');
  symlinkSync(join(data, 'PG_VERSION'), join(db, 'zz-link'));
  symlinkSync(join(master, 'nowhere'), join(db, 'zz-dangling'));
  const { walk, types } = await walkPair();
  const seen: string[] = [];
  try {
    for await (const b of walk.readdirBatches(db)) {
      for (const e of b) {
        if (!e.isSymbolicLink) continue;
        if (e.name === 'zz-link') assert.equal((await walk.stat(join(db, e.name))).size, 3);
        else await assert.rejects(walk.stat(join(db, e.name)), (x: unknown) => isSshError(x, SshErrorCode.SFTP_NO_SUCH_FILE));
        seen.push(e.name);
      }
    }
  } finally {
    walk.end();
    rmSync(db, { recursive: true });
  }
  assert.deepEqual(seen.sort(), ['zz-dangling', 'zz-link']);
  assert.equal(types.get('T') ?? 0, 0, 'no stat request');
});

test('a walk that leaves a listing half way does not hold up the requests after it', async () => {
  const { walk } = await walkPair();
  for await (const b of walk.readdirBatches(join(data, 'base', '5'))) {
    assert.ok(b.length > 0);
    break;
  }
  assert.equal((await walk.lstat(join(data, 'PG_VERSION'))).isFile, true);
  assert.equal((await listAll(walk, join(data, 'base', '5'))).entries.length, BIG);
  walk.end();
});

/** SFTP's shape, read from the local disk: batches of 100, as OpenSSH's sftp-server answers READDIR. */
class DiskSftp implements WalkChannel {
  async *readdirBatches(path: string): AsyncGenerator<RemoteDirEntry[]> {
    const names = readdirSync(path);
    for (let i = 0; i < names.length; i += 100) yield names.slice(i, i + 100).map((name) => ({ name, ...this.attrs(lstatSync(join(path, name))) }));
  }
  private attrs(st: Stats): Omit<RemoteDirEntry, 'name'> {
    return {
      size: st.size,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      mtime: Math.floor(st.mtimeMs / 1000),
      atime: Math.floor(st.atimeMs / 1000),
      isFile: st.isFile(),
      isDirectory: st.isDirectory(),
      isSymbolicLink: st.isSymbolicLink(),
    };
  }
  async stat(path: string): Promise<RemoteDirEntry> {
    return { name: '', ...this.attrs(statSync(path)) };
  }
  async lstat(path: string): Promise<RemoteDirEntry> {
    return { name: '', ...this.attrs(lstatSync(path)) };
  }
}

async function plan(ch: WalkChannel, dest: string): Promise<string[]> {
  const jobs: string[] = [];
  const p = emptyPlan({ push: async (j: FileJob) => void jobs.push(`${j.rel} ${j.size} ${j.mtime}`) });
  await planTree(ch, { remoteRoot: data, localRoot: dest, rule: (rel) => (rel === 'dangling' ? 'exclude' : 'copy') }, p, true);
  return [...jobs, ...p.last.map((j) => `last ${j.rel}`)].sort();
}

test('the walk decides the same through the sender as over SFTP, in one request per directory instead of one per 100 entries', async () => {
  const { walk, types } = await walkPair();
  const overSender = await plan(walk, join(root, 'copy-a'));
  const sftp = new DiskSftp();
  const overSftp = await plan(sftp, join(root, 'copy-b'));
  assert.deepEqual(overSender, overSftp);
  assert.equal(overSender.length, BIG + 4, 'base/5, global/pg_control, PG_VERSION, version-link, log/a.log');
  // data, base, base/5, global, log: 5 directories, one request each (SFTP: OPENDIR, a READDIR per 100 entries, CLOSE).
  assert.equal(types.get('L'), 5);
  walk.end();
});

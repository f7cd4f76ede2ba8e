/**
 * Block re-sync of -B without a network: the master's sender (block-sender.ts) and the standby's
 * end (block-channel.ts, block-resync.ts) joined by pipes, real files on both sides. The compare
 * sends only what differs (a changed middle block, a grown file, a truncated one), and a copy cut
 * half way never tears the destination.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { BLOCK, PROTOCOL, frame } from '../src/basebackup/block-frames.js';
import { BlockChannel } from '../src/basebackup/block-channel.js';
import { resyncFile } from '../src/basebackup/block-resync.js';
import { serveSendFiles } from '../src/basebackup/block-sender.js';
import { BufferPool } from '@pitrtools/core/ssh/sftp-fetch';
import type { WireJob } from '../src/basebackup/copy-protocol.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-block-resync-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

/** A sender served in this process; `cut(n)` ends the pipe from the master after n more bytes. */
async function pair(compress: string, cutAfter?: number): Promise<{ ch: BlockChannel; done: Promise<void> }> {
  const toMaster = new PassThrough();
  const fromMaster = new PassThrough();
  let sent = 0;
  const done = serveSendFiles(toMaster, async (b) => {
    if (cutAfter !== undefined && sent + b.length > cutAfter) {
      fromMaster.destroy(new Error('connection cut'));
      return;
    }
    sent += b.length;
    fromMaster.write(b);
  }).catch(() => undefined);
  const ch = await BlockChannel.start(Duplex.from({ readable: fromMaster, writable: toMaster }), compress);
  return { ch, done };
}

function files(master: Buffer, local: Buffer | undefined, mtime = 1_700_000_000): WireJob {
  const n = serial++;
  const remote = join(dir, `master-${n}`);
  const dest = join(dir, `local-${n}`);
  writeFileSync(remote, master);
  utimesSync(remote, mtime, mtime);
  if (local) writeFileSync(dest, local);
  return { id: n, remote, local: dest, size: master.length, mtime };
}

const temps = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

test('a changed block in the middle of a 1.5 MiB file: only that block crosses, the copy equals the master', async () => {
  const local = randomBytes(192 * BLOCK);
  const master = Buffer.from(local);
  randomBytes(100).copy(master, 150 * BLOCK + 3000); // block 150: in the second batch
  const job = files(master, local);
  const { ch } = await pair('zstd');
  const r = await resyncFile(ch, job);
  assert.equal(r.outcome, 'copied');
  assert.ok(readFileSync(job.local).equals(master));
  // One block of random data (incompressible) plus 20 bytes of hash per local block and frame headers.
  assert.ok(r.wire > BLOCK && r.wire < 2 * BLOCK + 192 * 20 + 1024, `wire ${r.wire}`);
  assert.equal(statSync(job.local).mtimeMs, job.mtime * 1000);
  ch.end();
});

test('a file grown on the master: the old part is compared, the new part sent', async () => {
  const local = randomBytes(13 * BLOCK + 100);
  const master = Buffer.concat([local, randomBytes(20 * BLOCK)]);
  const job = files(master, local);
  const { ch } = await pair('none');
  const r = await resyncFile(ch, job);
  assert.ok(readFileSync(job.local).equals(master));
  // The partial last local block goes again (it differs now), then the 20 new blocks.
  assert.ok(r.wire >= 20 * BLOCK && r.wire < 22 * BLOCK + 1024, `wire ${r.wire}`);
  ch.end();
});

test('a file truncated on the master: the copy gets its length, nothing crosses but hashes', async () => {
  const local = randomBytes(40 * BLOCK);
  const master = local.subarray(0, 10 * BLOCK + 77);
  const job = files(master, local);
  const { ch } = await pair('lz4');
  const r = await resyncFile(ch, job);
  assert.ok(readFileSync(job.local).equals(master));
  assert.ok(r.wire < 2048, `wire ${r.wire}`);
  ch.end();
});

test('no local copy: the file comes whole, compressed; a file gone from the master is removed here', async () => {
  const master = Buffer.alloc(300 * BLOCK, 'pgbench filler ');
  const job = files(master, undefined);
  const { ch } = await pair('zstd');
  const r = await resyncFile(ch, job);
  assert.ok(readFileSync(job.local).equals(master));
  assert.ok(r.wire < master.length / 20, `zstd on repetitive data: wire ${r.wire}`);
  const gone = files(Buffer.from('x'), Buffer.from('old'));
  rmSync(gone.remote);
  assert.equal((await resyncFile(ch, gone)).outcome, 'vanished');
  assert.equal(existsSync(gone.local), false);
  ch.end();
});

test('a re-sync cut half way leaves the old file as it was and no temp file', async () => {
  const local = randomBytes(300 * BLOCK);
  const master = randomBytes(300 * BLOCK);
  const job = files(master, local);
  const { ch } = await pair('none', 600 * 1024); // the master's answers stop in the first batch's data
  await assert.rejects(resyncFile(ch, job), /connection cut|ended/);
  assert.ok(readFileSync(job.local).equals(local), 'the destination is the old copy, whole');
  assert.deepEqual(temps(), []);
});

test('a disk that fails on the third write: the temp file is discarded, the destination untouched', async () => {
  const local = randomBytes(400 * BLOCK);
  const master = Buffer.from(local);
  master[399 * BLOCK] = (master[399 * BLOCK]! + 1) & 0xff;
  const job = files(master, local);
  const { ch } = await pair('zstd');
  let writes = 0;
  let discarded = false;
  const create = async (): Promise<{ write: () => Promise<void>; place: () => Promise<void>; discard: () => Promise<void> }> => ({
    write: async () => {
      if (++writes === 3) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    },
    place: async () => assert.fail('placed after a failed write'),
    discard: async () => {
      discarded = true;
    },
  });
  await assert.rejects(resyncFile(ch, job, { create }), /no space/);
  assert.ok(discarded);
  assert.ok(readFileSync(job.local).equals(local));
  ch.end();
});

test('a sender that ends at once, or speaks another protocol, is refused at the hello (-B then falls back to SFTP)', async () => {
  const ended = new PassThrough();
  ended.end();
  await assert.rejects(BlockChannel.start(Duplex.from({ readable: ended, writable: new PassThrough() }), 'none'), /block sender on the master (ended|failed)/);
  const other = new PassThrough();
  other.write(frame('H', Buffer.from(JSON.stringify({ v: 99, block: BLOCK }))));
  await assert.rejects(
    BlockChannel.start(Duplex.from({ readable: other, writable: new PassThrough() }), 'none'),
    new RegExp(`protocol 99, this cmd_standby ${PROTOCOL}`),
  );
});

test('latency: a file that fits in one batch costs one round trip: its open and its batch go out before any answer', async () => {
  const master = randomBytes(20 * BLOCK);
  const job = files(master, master.subarray(0, 10 * BLOCK));
  // The master side answers nothing until the standby has sent both the open and the batch of the
  // file: a standby that waits for the open's answer before asking for blocks never gets one.
  const toMaster = new PassThrough();
  const fromMaster = new PassThrough();
  const gate = new PassThrough();
  let held: Buffer[] = [];
  let seen = '';
  let open = false;
  toMaster.on('data', (b: Buffer) => {
    if (open) return void gate.write(b);
    held.push(b);
    const all = Buffer.concat(held);
    // Frame types after the hello: [type][u32 len][body]...
    seen = '';
    for (let at = 0; at + 5 <= all.length; at += 5 + all.readUInt32BE(at + 1)) seen += String.fromCharCode(all[at]!);
    if (seen.startsWith('H') && seen.length === 1) (gate.write(all.subarray(0, 5 + all.readUInt32BE(1))), (held = [all.subarray(5 + all.readUInt32BE(1))]));
    if (seen.includes('O') && seen.includes('B')) {
      open = true;
      gate.write(Buffer.concat(held));
      held = [];
    }
  });
  void serveSendFiles(gate, async (b) => void fromMaster.write(b)).catch(() => undefined);
  const ch = await BlockChannel.start(Duplex.from({ readable: fromMaster, writable: toMaster }), 'none');
  const r = await Promise.race([
    resyncFile(ch, job),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('waited for an answer before asking for blocks')), 5000)),
  ]);
  assert.equal(r.outcome, 'copied');
  assert.ok(readFileSync(job.local).equals(master));
  ch.end();
});

/** Frame types in a byte stream of block frames ([type][u32 len][body]...), fed as it comes. */
function frameTypes(onType: (t: string) => void): (b: Buffer) => void {
  let rest = Buffer.alloc(0);
  return (b) => {
    rest = Buffer.concat([rest, b]);
    while (rest.length >= 5 && rest.length >= 5 + rest.readUInt32BE(1)) {
      onType(String.fromCharCode(rest[0]!));
      rest = rest.subarray(5 + rest.readUInt32BE(1));
    }
  };
}

/**
 * A sender served in this process that answers each write 20 ms late, as over a path with a
 * round trip, counting the batches asked for (B frames) and the most asked for and not yet
 * answered (E frames) at any time.
 */
async function slowPair(compress: string): Promise<{ ch: BlockChannel; asked: () => number; most: () => number }> {
  const toMaster = new PassThrough();
  const fromMaster = new PassThrough();
  let asked = 0;
  let answered = 0;
  let most = 0;
  toMaster.on(
    'data',
    frameTypes((t) => {
      if (t === 'B') most = Math.max(most, ++asked - answered);
    }),
  );
  fromMaster.on(
    'data',
    frameTypes((t) => {
      if (t === 'E') answered++;
    }),
  );
  void serveSendFiles(toMaster, (b) => new Promise<void>((resolve) => setTimeout(() => resolve(void fromMaster.write(b)), 20))).catch(() => undefined);
  const ch = await BlockChannel.start(Duplex.from({ readable: fromMaster, writable: toMaster }), compress);
  return { ch, asked: () => asked, most: () => most };
}

test('latency: a file the standby has no copy of is asked for several batches at a time (a round trip per 8 MiB, not per MiB), and lands whole', async () => {
  const master = randomBytes(12 * 128 * BLOCK); // 12 MiB: 12 batches
  const job = files(master, undefined);
  const { ch, asked, most } = await slowPair('zstd');
  const r = await resyncFile(ch, job);
  assert.equal(r.outcome, 'copied');
  assert.ok(readFileSync(job.local).equals(master));
  assert.equal(asked(), 12);
  assert.ok(most() >= 8, `at most ${most()} batch(es) of the file were asked for before their answers`);
  assert.deepEqual(temps(), []);
  ch.end();
});

test('latency and memory: a file re-synced against a local copy has as many batches in flight as the shared pool has buffers, and only the changed blocks cross', async () => {
  const local = randomBytes(12 * 128 * BLOCK); // 12 MiB: 12 batches
  const master = Buffer.from(local);
  for (const b of [5, 300, 1000, 1500]) randomBytes(50).copy(master, b * BLOCK + 100);
  const job = files(master, local);
  const { ch, most } = await slowPair('zstd');
  const batches = new BufferPool(128 * BLOCK, 4);
  const r = await resyncFile(ch, job, { batches });
  assert.equal(r.outcome, 'copied');
  assert.ok(readFileSync(job.local).equals(master));
  assert.ok(most() >= 2 && most() <= 4, `${most()} batches in flight: more than one, never more than the pool's 4 buffers`);
  assert.equal(batches.available, 4, 'every buffer back in the pool');
  assert.ok(r.wire < 1024 * 1024, `${r.wire} bytes crossed for 4 changed blocks (hashes included)`);
  ch.end();
});

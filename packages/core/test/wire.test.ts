import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { codecFor, type Codec, type CompressAlgo } from '../src/compress.js';
import { PitrError } from '../src/errors.js';
import { answerStatus, openWalStream, ReceiverUnavailable } from '../src/ssh/wal-stream.js';
import { encodeFrame, FrameReader, MAX_FILE, sha256, type Answer, type Frame } from '../src/wire/frame.js';
import type { PlaceFs } from '../src/wire/place.js';
import { receiveStream, type ReceiveOptions } from '../src/wire/receive.js';
import { CHANNEL_PIECES, FrameTooLarge, PiecePool, WalStreamSender } from '../src/wire/send.js';

/** An in-memory directory; `failOn` makes one call fail with an errno. */
function fakeFs(failOn?: { op: string; code: string }): PlaceFs & { files: Map<string, Buffer>; synced: Set<string>; dirSyncs: number } {
  const files = new Map<string, Buffer>();
  const synced = new Set<string>();
  const fail = (op: string): void => {
    if (failOn?.op === op) throw Object.assign(new Error(`${failOn.code}: injected, ${op}`), { code: failOn.code, syscall: op });
  };
  const fs = {
    files,
    synced,
    dirSyncs: 0,
    create: async (path: string) => {
      fail('open');
      if (files.has(path)) throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
      files.set(path, Buffer.alloc(0));
      return {
        write: async (d: Buffer) => {
          fail('write');
          files.set(path, Buffer.concat([files.get(path)!, d]));
        },
        sync: async () => {
          fail('fsync');
          synced.add(path);
        },
        close: async () => fail('close'),
      };
    },
    link: async (a: string, b: string) => {
      fail('link');
      if (files.has(b)) throw Object.assign(new Error('EEXIST: file exists, link'), { code: 'EEXIST' });
      files.set(b, files.get(a)!);
      if (synced.has(a)) synced.add(b);
    },
    unlink: async (p: string) => {
      files.delete(p);
    },
    lstat: async (p: string) => (files.has(p) ? { isFile: true, size: files.get(p)!.length } : undefined),
    readFile: async (p: string) => files.get(p)!,
    fsyncFile: async (p: string) => {
      synced.add(p);
    },
    fsyncDir: async () => {
      fail('fsyncdir');
      fs.dirSyncs++;
    },
  };
  return fs;
}

// WAL-like: mostly zeros with some random records, so it compresses.
function segment(n = 1 << 20): Buffer {
  const b = Buffer.alloc(n);
  randomBytes(n / 8).copy(b, 0);
  return b;
}

const PIECE = 64 * 1024;

/** A whole file as the sender puts it on the wire: header, pieces of `piece` bytes, end; `mangle` may change a piece. */
function fileBytes(name: string, data: Buffer, algo: CompressAlgo, o: { piece?: number; sha?: string; mangle?: (p: Buffer, i: number) => void } = {}): Buffer {
  const codec = codecFor({ algo, level: 1 });
  const piece = o.piece ?? PIECE;
  const out: Buffer[] = [encodeFrame({ t: 'file', name, size: data.length, algo, piece })];
  for (let pos = 0, i = 0; pos < data.length; pos += piece, i++) {
    const dest = Buffer.alloc(4 + codec.bound(piece));
    const len = codec.compressInto(data.subarray(pos, pos + piece), dest.subarray(4));
    dest.writeUInt32BE(len, 0);
    const p = dest.subarray(0, 4 + len);
    o.mangle?.(p.subarray(4), i);
    out.push(p);
  }
  out.push(encodeFrame({ t: 'end', name, sha256: o.sha ?? sha256(data) }));
  return Buffer.concat(out);
}

/** Runs the receiver over `bytes`; its answers, and the error that ended it if any. */
async function receive(fs: PlaceFs, bytes: Buffer, opts: ReceiveOptions = {}): Promise<{ answers: Answer[]; error?: unknown }> {
  const input = new PassThrough();
  const answers: Answer[] = [];
  const r = new FrameReader();
  const out = { write: (b: Buffer) => r.push(b).forEach((f) => 'header' in f && f.header.t === 'answer' && answers.push(f.header)) };
  input.end(bytes);
  try {
    await receiveStream(input, out, fs, '/arch', opts);
    return { answers };
  } catch (error) {
    return { answers, error };
  }
}

const SEG = '000000010000000000000001';
const real = (fs: ReturnType<typeof fakeFs>): string[] => [...fs.files.keys()].filter((k) => !k.split('/').pop()!.startsWith('.'));
const kinds = (fr: Frame[]): string[] => fr.map((f) => ('piece' in f ? 'piece' : f.header.t));

test('frames survive any split of the byte stream (partial reads), several files in a row, pieces in order', () => {
  const a = segment(PIECE * 2 + 100);
  const b = segment(8192);
  const bytes = Buffer.concat([
    fileBytes('A', a, 'zstd'),
    encodeFrame({ t: 'hello', v: 2 }),
    fileBytes('B', b, 'lz4'),
    fileBytes('E', Buffer.alloc(0), 'zstd'),
  ]);
  for (const step of [1, 3, 7, 4096, bytes.length]) {
    const r = new FrameReader();
    const got: Frame[] = [];
    for (let i = 0; i < bytes.length; i += step) got.push(...r.push(bytes.subarray(i, i + step)));
    r.end();
    assert.deepEqual(kinds(got), ['file', 'piece', 'piece', 'piece', 'end', 'hello', 'file', 'piece', 'end', 'file', 'end'], `split ${step}`);
    const zstd = codecFor({ algo: 'zstd', level: 1 });
    const rebuilt = Buffer.alloc(a.length);
    got.slice(1, 4).forEach((f, i) => zstd.decompressInto((f as { piece: Buffer }).piece, rebuilt.subarray(i * PIECE, Math.min(a.length, (i + 1) * PIECE))));
    assert.ok(rebuilt.equals(a), `split ${step}`);
  }
});

test('a cut stream, an oversized header or piece, and frames out of order are WIRE_PROTOCOL', () => {
  const bytes = fileBytes('A', segment(PIECE + 1), 'zstd');
  const wire = (e: unknown, re: RegExp): boolean => e instanceof PitrError && e.code === 'WIRE_PROTOCOL' && re.test(e.message);
  // Cut inside the end frame, and cut right after the last piece (no end frame at all).
  const r = new FrameReader();
  r.push(bytes.subarray(0, bytes.length - 1));
  assert.throws(
    () => r.end(),
    (e) => wire(e, /ended inside a frame/),
  );
  const endLen = encodeFrame({ t: 'end', name: 'A', sha256: sha256(Buffer.alloc(0)) }).length;
  const r2 = new FrameReader();
  r2.push(bytes.subarray(0, bytes.length - endLen));
  assert.throws(
    () => r2.end(),
    (e) => wire(e, /ended inside A/),
  );
  const big = Buffer.alloc(4);
  big.writeUInt32BE(1 << 30);
  assert.throws(
    () => new FrameReader().push(big),
    (e) => wire(e, /header of/),
  );
  const head = encodeFrame({ t: 'file', name: 'A', size: 10, algo: 'none', piece: 4096 });
  assert.throws(
    () => new FrameReader().push(Buffer.concat([head, big])),
    (e) => wire(e, /a piece of 1073741824 bytes/),
  );
  assert.throws(
    () => new FrameReader().push(encodeFrame({ t: 'end', name: 'A', sha256: '' })),
    (e) => wire(e, /not begun/),
  );
  const one = Buffer.from([0, 0, 0, 1, 7]);
  assert.throws(
    () =>
      new FrameReader().push(
        Buffer.concat([encodeFrame({ t: 'file', name: 'A', size: 1, algo: 'none', piece: 4096 }), one, encodeFrame({ t: 'hello', v: 2 })]),
      ),
    (e) => wire(e, /where the end of A was due/),
  );
});

for (const algo of ['zstd', 'lz4'] as const) {
  test(`${algo}: a corrupt piece is answered COMPRESS_CORRUPT, nothing is written, and the next file still lands`, async () => {
    const fs = fakeFs();
    const data = segment();
    const bad = fileBytes(SEG, data, algo, { mangle: (p, i) => i === 1 && p.fill(0x55, 2, 40) });
    // Valid compressed data of other bytes than the end frame's hash: also refused.
    const other = fileBytes(SEG, segment(), algo, { sha: sha256(data) });
    const good = fileBytes(SEG, data, algo);
    const { answers, error } = await receive(fs, Buffer.concat([bad, other, good]));
    assert.equal(error, undefined);
    assert.deepEqual(
      answers.map((a) => [a.status, (a as { code?: string }).code]),
      [
        ['error', 'COMPRESS_CORRUPT'],
        ['error', 'COMPRESS_CORRUPT'],
        ['stored', undefined],
      ],
    );
    assert.deepEqual(real(fs), [`/arch/${SEG}`]);
    assert.ok(fs.files.get(`/arch/${SEG}`)!.equals(data));
  });
}

test('stored fsyncs file and directory; a retry of the same bytes is "same"; different bytes are a conflict with both hashes, untouched', async () => {
  const fs = fakeFs();
  const data = segment();
  const other = segment();
  const { answers } = await receive(fs, Buffer.concat([fileBytes(SEG, data, 'zstd'), fileBytes(SEG, data, 'lz4'), fileBytes(SEG, other, 'zstd')]));
  assert.deepEqual(answers[0], { t: 'answer', name: SEG, status: 'stored' });
  // The retry compares the decompressed content with what is there (not the compressed bytes).
  assert.equal(answers[1]!.status, 'same');
  const c = answers[2] as Extract<Answer, { status: 'conflict' }>;
  assert.equal(c.status, 'conflict');
  assert.equal(c.theirSha256, sha256(data));
  assert.equal(c.sha256, sha256(other));
  assert.ok(fs.files.get(`/arch/${SEG}`)!.equals(data), 'plain WAL lands, not compressed bytes; nothing overwritten');
  assert.ok(fs.synced.has(`/arch/${SEG}`));
  assert.equal(fs.dirSyncs, 2);
  assert.deepEqual(real(fs), [`/arch/${SEG}`], 'no temp left');
  assert.equal(fs.files.size, 1);
});

for (const op of ['open', 'write', 'fsync', 'close', 'link', 'fsyncdir']) {
  test(`a failed ${op} is an error answer with the errno as a sentence, no temp left, mapped to the SFTP path's code`, async () => {
    const fs = fakeFs({ op, code: op === 'write' ? 'ENOSPC' : 'EIO' });
    const { answers } = await receive(fs, fileBytes(SEG, segment(), 'lz4'));
    const a = answers[0]!;
    assert.equal(a.status, 'error');
    const e = a as Extract<Answer, { status: 'error' }>;
    assert.equal(e.code, op === 'write' ? 'ENOSPC' : 'EIO');
    assert.match(e.message, new RegExp(`${op} failed: injected`));
    assert.ok(![...fs.files.keys()].some((k) => k.includes('.tmp')), 'temp removed');
    if (op !== 'fsyncdir') assert.equal(fs.files.size, 0);
    assert.throws(
      () => answerStatus(a, `/arch/${SEG}`, 'u@h:22'),
      (x: unknown) => x instanceof PitrError && x.code === (op === 'write' ? 'SFTP_NO_SPACE' : 'SFTP_FAILURE'),
    );
  });
}

test("refuseDir: asked once, before the first file is stored; its sentence answers every file EACCES (the SFTP path's permission denied), nothing written", async () => {
  const fs = fakeFs();
  let asked = 0;
  const why = 'refusing to write in r_archivedir /arch: it is writable by others (every user; mode 0777); fix: chmod 0700 /arch';
  const refuseDir = async (): Promise<string | undefined> => (asked++, why);
  const { answers, error } = await receive(fs, Buffer.concat([fileBytes(SEG, segment(), 'zstd'), fileBytes('000000010000000000000002', segment(), 'lz4')]), {
    refuseDir,
  });
  assert.equal(error, undefined);
  assert.equal(asked, 1);
  assert.deepEqual(
    answers.map((a) => [a.status, (a as { code?: string }).code, (a as { message?: string }).message]),
    [
      ['error', 'EACCES', why],
      ['error', 'EACCES', why],
    ],
  );
  assert.equal(fs.files.size, 0, 'not even a temp');
  assert.throws(
    () => answerStatus(answers[0]!, `/arch/${SEG}`, 'u@h:22'),
    (x: unknown) => x instanceof PitrError && x.code === 'SFTP_PERMISSION_DENIED' && x.message.includes(why),
  );
  // undefined lets them be stored.
  const ok = await receive(fs, fileBytes(SEG, segment(), 'zstd'), { refuseDir: async () => undefined });
  assert.deepEqual(
    ok.answers.map((a) => a.status),
    ['stored'],
  );
});

/** A channel into receiveStream over PassThroughs (it copies what is written, as ssh2 does before its callback). */
function loopChannel(fs: PlaceFs): { ch: never; done: Promise<number>; toSender: PassThrough } {
  const toReceiver = new PassThrough();
  const toSender = new PassThrough();
  const done = receiveStream(toReceiver, toSender, fs, '/arch');
  done.catch(() => undefined);
  const ch = {
    write: (d: Buffer, cb: () => void) => toReceiver.write(Buffer.from(d), cb),
    on: (ev: string, fn: (...a: any[]) => void) => (ev === 'data' ? toSender.on('data', fn) : toSender.on('end', fn)), // eslint-disable-line @typescript-eslint/no-explicit-any
    end: () => toReceiver.end(),
  };
  return { ch: ch as never, done, toSender };
}

function tempFiles(datas: Buffer[]): { dir: string; paths: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pitr-wire-'));
  return { dir, paths: datas.map((d, i) => (writeFileSync(join(dir, `f${i}`), d), join(dir, `f${i}`))) };
}

test('sender and receiver: files pipelined on one channel, answers in order; a dead channel rejects what is in flight', async () => {
  const fs = fakeFs();
  const { ch, done, toSender } = loopChannel(fs);
  const sender = new WalStreamSender(ch, (why) => new Error(why));
  const pool = new PiecePool(codecFor({ algo: 'zstd', level: 1 }), PIECE);
  const names = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003'];
  const datas = names.map(() => segment());
  const { dir, paths } = tempFiles(datas);
  try {
    const answers = await Promise.all(names.map((n, i) => sender.sendFile(paths[i]!, n, pool)));
    assert.deepEqual(
      answers.map((a) => [a.name, a.status]),
      names.map((n) => [n, 'stored']),
    );
    names.forEach((n, i) => assert.ok(fs.files.get(`/arch/${n}`)!.equals(datas[i]!)));
    assert.equal(pool.out.available, 6, 'every piece buffer back in the pool');
    sender.end();
    assert.equal(await done, 3);
    toSender.end();
    await assert.rejects(sender.sendFile(paths[0]!, '000000010000000000000004', pool), /ended/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file larger than the stream carries (e.g. --wal-segsize 128) is FrameTooLarge before anything is sent, for the caller to use SFTP', async () => {
  const { dir, paths } = tempFiles([Buffer.alloc(0)]);
  try {
    truncateSync(paths[0]!, MAX_FILE + 1);
    const writes: Buffer[] = [];
    const toSender = new PassThrough();
    const ch = {
      write: (d: Buffer, cb: () => void) => (writes.push(d), cb()),
      on: (ev: string, fn: () => void) => toSender.on(ev === 'data' ? 'data' : 'end', fn),
      end: () => undefined,
    };
    toSender.write(encodeFrame({ t: 'hello', v: 2 }));
    const sender = new WalStreamSender(ch as never, (why) => new Error(why));
    await assert.rejects(sender.sendFile(paths[0]!, SEG, new PiecePool(codecFor({ algo: 'zstd', level: 1 }))), (e: unknown) => e instanceof FrameTooLarge);
    assert.equal(writes.length, 0);
    assert.ok(sender.usable, 'the channel stays usable for the next file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('memory: a slave that takes nothing holds at most CHANNEL_PIECES of the pool, whatever is asked (six 6 MiB incompressible files); when it dies every buffer comes back', async () => {
  const toSender = new PassThrough();
  const held: Array<() => void> = [];
  // A channel that says hello and then never takes a byte (its write callbacks never run) nor answers.
  const ch = {
    write: (_d: Buffer, cb: () => void) => held.push(cb),
    on: (ev: string, fn: () => void) => toSender.on(ev === 'data' ? 'data' : 'end', fn),
    end: () => undefined,
  };
  toSender.write(encodeFrame({ t: 'hello', v: 2 }));
  const sender = new WalStreamSender(ch as never, (why) => new Error(why));
  const none = codecFor({ algo: 'none', level: 0 });
  let compressed = 0;
  const counting: Codec = { ...none, compressInto: (s, d) => (compressed++, none.compressInto(s, d)) };
  const pool = new PiecePool(counting);
  const { dir, paths } = tempFiles(Array.from({ length: 6 }, () => randomBytes(6 << 20)));
  try {
    const sends = paths.map((p, i) => sender.sendFile(p, `00000001000000000000000${i + 1}`, pool));
    sends.forEach((s) => s.catch(() => undefined));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(compressed, CHANNEL_PIECES, `${CHANNEL_PIECES} pieces of 1 MiB compressed (what one channel may hold), not 36`);
    assert.equal(pool.out.available, 6 - CHANNEL_PIECES);
    toSender.end(); // the channel dies: everything rejects, nothing hangs, the buffers are the pool's again
    const settled = await Promise.allSettled(sends);
    assert.ok(settled.every((s) => s.status === 'rejected'));
    assert.equal(pool.out.available, 6);
    assert.equal(pool.read.available, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The class: a pool shared by a slave's channels, and one channel that does not take its
// pieces (its window shut: a receiver still starting, a slow one) holding all of it.
test("a channel whose window stays shut does not hold up the slave's other channels: they share the pool, each holds at most CHANNEL_PIECES", async () => {
  const toStuck = new PassThrough();
  const stuck = {
    write: (_d: Buffer, _cb: () => void) => true,
    on: (ev: string, fn: () => void) => toStuck.on(ev === 'data' ? 'data' : 'end', fn),
    end: () => undefined,
  };
  const stalled = new WalStreamSender(stuck as never, (why) => new Error(why));
  const fs = fakeFs();
  const { ch } = loopChannel(fs);
  const moving = new WalStreamSender(ch, (why) => new Error(why));
  const pool = new PiecePool(codecFor({ algo: 'zstd', level: 1 }), PIECE);
  const { dir, paths } = tempFiles([randomBytes(16 * PIECE), randomBytes(16 * PIECE), randomBytes(16 * PIECE)]);
  try {
    const first = stalled.sendFile(paths[0]!, '000000010000000000000001', pool);
    first.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    const sent = await Promise.race([
      Promise.all([moving.sendFile(paths[1]!, '000000010000000000000002', pool), moving.sendFile(paths[2]!, '000000010000000000000003', pool)]),
      new Promise((r) => setTimeout(() => r('timed out'), 5000)),
    ]);
    assert.notEqual(sent, 'timed out', 'the moving channel waited for the stalled one');
    assert.deepEqual(
      (sent as Answer[]).map((a) => a.status),
      ['stored', 'stored'],
    );
    assert.equal(pool.out.available, 6 - CHANNEL_PIECES, 'the stalled channel holds its share, no more');
    toStuck.end();
    await assert.rejects(first);
    assert.equal(pool.out.available, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that shrinks while it is sent ends the channel (the receiver cannot take half a file) and nothing is stored', async () => {
  const fs = fakeFs();
  const { ch, done } = loopChannel(fs);
  const sender = new WalStreamSender(ch, (why) => new Error(why));
  const { dir, paths } = tempFiles([segment(PIECE * 4)]);
  try {
    const pool = new PiecePool(codecFor({ algo: 'lz4', level: 0 }), PIECE);
    // Cut the file once its first piece has been read.
    const read = pool.read;
    const acquire = read.acquire.bind(read);
    let n = 0;
    read.acquire = async () => (n++ === 1 && truncateSync(paths[0]!, PIECE + 10), acquire());
    await assert.rejects(
      sender.sendFile(paths[0]!, SEG, pool),
      (e: unknown) => e instanceof PitrError && e.code === 'WIRE_PROTOCOL' && /shrank/.test(e.message),
    );
    assert.equal(sender.usable, false);
    await assert.rejects(done, (e: unknown) => e instanceof PitrError && e.code === 'WIRE_PROTOCOL');
    assert.deepEqual(real(fs), []);
    assert.equal(pool.out.available, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an 'error' on the channel (e.g. a write after it ended) kills the stream, rejects what is in flight, and is not thrown at the process", async () => {
  const ee = new EventEmitter();
  const ch = { write: (_d: Buffer, cb: () => void) => (cb(), true), on: (ev: string, fn: (...a: any[]) => void) => ee.on(ev, fn), end: () => undefined }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const sender = new WalStreamSender(ch as never, (why) => new Error(why));
  ee.emit('data', encodeFrame({ t: 'hello', v: 2 }));
  await sender.ready;
  const { dir, paths } = tempFiles([segment()]);
  try {
    const sent = sender.sendFile(paths[0]!, SEG, new PiecePool(codecFor({ algo: 'zstd', level: 1 })));
    await new Promise((r) => setTimeout(r, 20));
    ee.emit('error', new Error('write after end'));
    await assert.rejects(sent, /the channel failed: write after end/);
    assert.equal(sender.usable, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * An exec channel as openWalStream gets it from a fake session: what is written goes to a
 * receiveStream started `startMs` later (a receiver that takes time to start, as node does on the
 * slave), or to nobody (`receiver` false). Records when the first bytes were written and when the
 * hello went out.
 */
function coldExec(o: { startMs: number; receiver: boolean }) {
  const fs = fakeFs();
  const toReceiver = new PassThrough();
  const toSender = new PassThrough();
  const ch = new EventEmitter() as EventEmitter & Record<string, unknown>;
  const stderr = new EventEmitter();
  // The order of the first write and the hello (a counter: both can fall in the same millisecond).
  let events = 0;
  const times: { firstWrite?: number; hello?: number } = {};
  Object.assign(ch, {
    stderr,
    write: (d: Buffer, cb?: () => void) => {
      times.firstWrite ??= ++events;
      return toReceiver.write(Buffer.from(d), cb);
    },
    end: () => toReceiver.end(),
    close: () => ch.emit('close'),
  });
  toSender.on('data', (d: Buffer) => {
    times.hello ??= ++events;
    ch.emit('data', d);
  });
  toSender.on('end', () => ch.emit('close'));
  // The receiver starts once the first bytes were written (or after startMs, for a sender that waits for it).
  let started = false;
  const start = (): void => {
    if (started || !o.receiver) return;
    started = true;
    void receiveStream(toReceiver, toSender, fs, '/arch').catch(() => undefined);
  };
  const timer = setTimeout(start, o.startMs);
  const write = ch.write as (d: Buffer, cb?: () => void) => boolean;
  ch.write = (d: Buffer, cb?: () => void) => {
    const r = write(d, cb);
    setImmediate(() => {
      clearTimeout(timer);
      start();
    });
    return r;
  };
  const session = { endpoint: 'u@h:22', closedError: undefined, openExec: async () => ch };
  return { session: session as never, ch, stderr, fs, times };
}

const streamOptions = (helloTimeoutMs = 10_000) => ({
  cmdStandby: 'cmd_standby',
  dir: '/arch',
  pieces: new PiecePool(codecFor({ algo: 'zstd', level: 1 }), PIECE),
  dirFsync: true,
  helloTimeoutMs,
});

test('a cold stream sends before its receiver said hello: the first bytes wait in the channel, not for a round trip and the receiver start', async () => {
  const { session, fs, times } = coldExec({ startMs: 2000, receiver: true });
  const data = segment();
  const { dir, paths } = tempFiles([data]);
  try {
    const stream = await openWalStream(session, streamOptions());
    assert.equal(await stream.put(paths[0]!, SEG), 'created');
    await stream.ready;
    assert.ok(
      times.firstWrite !== undefined && times.hello !== undefined && times.firstWrite < times.hello,
      `first write was event ${times.firstWrite}, the hello event ${times.hello}`,
    );
    assert.ok(fs.files.get(`/arch/${SEG}`)!.equals(data));
    stream.end();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a receiver that does not start (exit 127) or never says hello: put() and ready reject ReceiverUnavailable with its words, for the caller to use SFTP', async () => {
  const { dir, paths } = tempFiles([segment()]);
  try {
    const missing = coldExec({ startMs: 0, receiver: false });
    const stream = await openWalStream(missing.session, streamOptions());
    const put = stream.put(paths[0]!, SEG);
    setTimeout(() => {
      missing.stderr.emit('data', Buffer.from('sh: 1: cmd_standby: not found\n'));
      missing.ch.emit('exit', 127);
      missing.ch.emit('close');
    }, 20);
    const refused = (e: unknown): boolean =>
      e instanceof ReceiverUnavailable &&
      /^cmd_standby --receive-wal-stream did not start on u@h:22: .*exited 127: sh: 1: cmd_standby: not found$/.test(e.message);
    await assert.rejects(put, refused);
    await assert.rejects(stream.ready, refused);

    const silent = coldExec({ startMs: 0, receiver: false });
    const quiet = await openWalStream(silent.session, streamOptions(1000));
    await assert.rejects(
      quiet.put(paths[0]!, SEG),
      (e: unknown) => e instanceof ReceiverUnavailable && /did not start on u@h:22: no hello within 1s$/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a local failure before the hello (a segment that shrinks while it is read) is that failure, not "the receiver did not start"', async () => {
  const slow = coldExec({ startMs: 0, receiver: false }); // a receiver still starting: no hello yet
  const { dir, paths } = tempFiles([segment(PIECE * 4)]);
  try {
    const o = streamOptions();
    const read = o.pieces.read;
    const acquire = read.acquire.bind(read);
    let n = 0;
    read.acquire = async () => (n++ === 1 && truncateSync(paths[0]!, PIECE + 10), acquire());
    const stream = await openWalStream(slow.session, o);
    await assert.rejects(stream.put(paths[0]!, SEG), (e: unknown) => e instanceof PitrError && e.code === 'WIRE_PROTOCOL' && /shrank/.test(e.message));
    await assert.rejects(stream.ready, (e: unknown) => !(e instanceof ReceiverUnavailable));
    assert.equal(stream.usable, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

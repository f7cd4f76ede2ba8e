import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { codecFor, type CompressAlgo } from '../src/compress.js';
import { PitrError } from '../src/errors.js';
import { answerStatus } from '../src/ssh/wal-stream.js';
import { encodeFrame, FrameReader, MAX_FILE, sha256, type Answer, type FileHeader } from '../src/wire/frame.js';
import { FrameTooLarge, SegmentPacker } from '../src/wire/packer.js';
import type { PlaceFs } from '../src/wire/place.js';
import { receiveFile, receiveStream } from '../src/wire/receive.js';
import { InFlightBudget, WalStreamSender } from '../src/wire/send.js';

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

function fileFrame(name: string, data: Buffer, algo: CompressAlgo): { header: FileHeader; payload: Buffer } {
  const payload = codecFor({ algo, level: 1 }).compress(data);
  return { header: { t: 'file', name, size: data.length, algo, clen: payload.length, sha256: sha256(data) }, payload };
}

const SEG = '000000010000000000000001';
const real = (fs: ReturnType<typeof fakeFs>): string[] => [...fs.files.keys()].filter((k) => !k.split('/').pop()!.startsWith('.'));

test('frames survive any split of the byte stream (partial reads), several in a row', () => {
  const a = fileFrame('A', segment(4096), 'zstd');
  const b = fileFrame('B', segment(8192), 'lz4');
  const bytes = Buffer.concat([...encodeFrame(a.header, a.payload), ...encodeFrame({ t: 'hello', v: 1 }), ...encodeFrame(b.header, b.payload)]);
  for (const step of [1, 3, 7, 4096, bytes.length]) {
    const r = new FrameReader();
    const got = [];
    for (let i = 0; i < bytes.length; i += step) got.push(...r.push(bytes.subarray(i, i + step)));
    r.end();
    assert.deepEqual(
      got.map((f) => f.header.t),
      ['file', 'hello', 'file'],
    );
    assert.ok(got[0]!.payload.equals(a.payload) && got[2]!.payload.equals(b.payload), `split ${step}`);
  }
});

test('a truncated frame is WIRE_PROTOCOL at the end of the stream; an oversized header at once', () => {
  const a = fileFrame('A', segment(4096), 'zstd');
  const bytes = Buffer.concat(encodeFrame(a.header, a.payload));
  const r = new FrameReader();
  assert.deepEqual(r.push(bytes.subarray(0, bytes.length - 1)), []);
  assert.throws(
    () => r.end(),
    (e: unknown) => e instanceof PitrError && e.code === 'WIRE_PROTOCOL' && /ended inside a frame/.test(e.message),
  );
  const big = Buffer.alloc(4);
  big.writeUInt32BE(1 << 30);
  assert.throws(
    () => new FrameReader().push(big),
    (e: unknown) => e instanceof PitrError && e.code === 'WIRE_PROTOCOL',
  );
});

for (const algo of ['zstd', 'lz4'] as const) {
  test(`${algo}: a corrupt payload is answered COMPRESS_CORRUPT and nothing is written`, async () => {
    const fs = fakeFs();
    const f = fileFrame(SEG, segment(), algo);
    const bad = Buffer.from(f.payload);
    bad.fill(0x55, 8, 64);
    const a = await receiveFile(fs, '/arch', f.header, bad, new Map());
    assert.equal(a.status, 'error');
    assert.equal((a as { code: string }).code, 'COMPRESS_CORRUPT');
    assert.equal(fs.files.size, 0);
    // Valid compressed data of other bytes than the header's hash: also refused.
    const other = fileFrame(SEG, segment(), algo);
    const b = await receiveFile(fs, '/arch', { ...f.header, clen: other.payload.length }, other.payload, new Map());
    assert.equal((b as { code: string }).code, 'COMPRESS_CORRUPT');
    assert.equal(fs.files.size, 0);
  });
}

test('stored fsyncs file and directory; a retry of the same bytes is "same"; different bytes are a conflict with both hashes, untouched', async () => {
  const fs = fakeFs();
  const data = segment();
  const f = fileFrame(SEG, data, 'zstd');
  const codecs = new Map();
  assert.deepEqual(await receiveFile(fs, '/arch', f.header, f.payload, codecs), { t: 'answer', name: SEG, status: 'stored' });
  assert.deepEqual(real(fs), [`/arch/${SEG}`]);
  assert.ok(fs.files.get(`/arch/${SEG}`)!.equals(data), 'plain WAL lands, not compressed bytes');
  assert.ok(fs.synced.has(`/arch/${SEG}`));
  assert.equal(fs.dirSyncs, 1);
  // The retry compares the decompressed content with what is there (not the compressed bytes).
  assert.equal((await receiveFile(fs, '/arch', f.header, f.payload, codecs)).status, 'same');
  assert.equal(fs.dirSyncs, 2);
  const other = segment();
  const g = fileFrame(SEG, other, 'zstd');
  const c = (await receiveFile(fs, '/arch', g.header, g.payload, codecs)) as Extract<Answer, { status: 'conflict' }>;
  assert.equal(c.status, 'conflict');
  assert.equal(c.theirSha256, sha256(data));
  assert.equal(c.sha256, sha256(other));
  assert.ok(fs.files.get(`/arch/${SEG}`)!.equals(data), 'nothing overwritten');
  assert.deepEqual(real(fs), [`/arch/${SEG}`], 'no temp left');
  assert.equal(fs.files.size, 1);
});

for (const op of ['open', 'write', 'fsync', 'close', 'link', 'fsyncdir']) {
  test(`a failed ${op} is an error answer with the errno as a sentence, no temp left, mapped to the SFTP path's code`, async () => {
    const fs = fakeFs({ op, code: op === 'write' ? 'ENOSPC' : 'EIO' });
    const f = fileFrame(SEG, segment(), 'lz4');
    const a = await receiveFile(fs, '/arch', f.header, f.payload, new Map());
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

test('sender and receiver: files pipelined on one channel, answers in order; a dead channel rejects what is in flight', async () => {
  const toReceiver = new PassThrough();
  const toSender = new PassThrough();
  const fs = fakeFs();
  const done = receiveStream(toReceiver, toSender, fs, '/arch');
  const ch = {
    write: (d: Buffer) => toReceiver.write(d),
    on: (ev: string, fn: (...a: any[]) => void) => (ev === 'data' ? toSender.on('data', fn) : toSender.on('end', fn)), // eslint-disable-line @typescript-eslint/no-explicit-any
    end: () => toReceiver.end(),
  };
  const sender = new WalStreamSender(ch as never, (why) => new Error(why), new InFlightBudget(1 << 20));
  const codec = codecFor({ algo: 'zstd', level: 1 });
  const names = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003'];
  const datas = names.map(() => segment());
  const answers = await Promise.all(names.map((n, i) => sender.send(n, datas[i]!, codec)));
  assert.deepEqual(
    answers.map((a) => [a.name, a.status]),
    names.map((n) => [n, 'stored']),
  );
  names.forEach((n, i) => assert.ok(fs.files.get(`/arch/${n}`)!.equals(datas[i]!)));
  sender.end();
  assert.equal(await done, 3);
  toSender.end();
  await assert.rejects(sender.send('000000010000000000000004', segment(), codec), /ended/);
});

test('a file larger than one frame (e.g. --wal-segsize 128) is FrameTooLarge, for the caller to send over SFTP; a normal one packs to plain bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitr-packer-'));
  try {
    const big = join(dir, 'big');
    writeFileSync(big, '');
    truncateSync(big, MAX_FILE + 1);
    const packer = new SegmentPacker(codecFor({ algo: 'zstd', level: 1 }));
    await assert.rejects(packer.pack(big, SEG), (e: unknown) => e instanceof FrameTooLarge);
    const small = join(dir, 'small');
    const data = segment();
    writeFileSync(small, data);
    const { header, payload } = await packer.pack(small, SEG);
    assert.deepEqual([header.size, header.sha256], [data.length, sha256(data)]);
    assert.ok(codecFor({ algo: 'zstd', level: 1 }).decompress(payload, header.size).equals(data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('memory: while the link holds the budget, the packer packs at most one payload ahead, whatever is asked (a slow slave, incompressible WAL)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitr-wire-ahead-'));
  try {
    // A channel that says hello and then never answers: nothing in flight ever comes back.
    const toSender = new PassThrough();
    const ch = {
      write: () => true,
      on: (ev: string, fn: (...a: any[]) => void) => (ev === 'data' ? toSender.on('data', fn) : toSender.on('end', fn)),
      end: () => undefined,
    }; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const b of encodeFrame({ t: 'hello', v: 1 }, Buffer.alloc(0))) toSender.write(b);
    const sender = new WalStreamSender(ch as never, (why) => new Error(why), new InFlightBudget(8 << 20));
    let packed = 0;
    const none = codecFor({ algo: 'none', level: 0 });
    const packer = new SegmentPacker({ spec: none.spec, decompress: none.decompress, compress: (d) => (packed++, Buffer.from(d)) });
    const puts: Promise<unknown>[] = [];
    for (let i = 1; i <= 6; i++) {
      const name = `00000001000000000000000${i}`;
      writeFileSync(join(dir, name), randomBytes(6 << 20)); // 6 MiB each: two do not fit in 8 MiB
      puts.push(packer.pack(join(dir, name), name, (n) => sender.admit(n)).then(({ header, payload }) => sender.sendAdmitted(header, payload)));
      puts.at(-1)!.catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(packed, 2, 'one in flight, one packed and waiting for room; the other four not read yet');
    toSender.end(); // the channel dies: everything rejects, nothing hangs
    const settled = await Promise.allSettled(puts);
    assert.ok(settled.every((s) => s.status === 'rejected'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

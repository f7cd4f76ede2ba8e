// pitr-test: once (the SSH layer does not depend on the PostgreSQL version)
/**
 * fetchFile (sftp-fetch.ts), the reader of -B: first against a scripted channel that makes the
 * file grow, shrink, answer short or fail at chosen moments, then against a real OpenSSH sshd
 * with many files at once through one channel and a small buffer pool.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SshError, type SftpChannel } from '../packages/core/src/ssh/index.js';
import { BufferPool, fetchFile, type FetchSink } from '../packages/core/src/ssh/sftp-fetch.js';
import { sshSessionFixture } from './rig/ssh-session.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const CHUNK = 1000;

/** A channel whose one file is `content()`, read through `hook` before each answer. */
function scriptedChannel(
  content: () => Buffer,
  o: { maxPerRead?: number; beforeRead?: (n: number, pos: number) => void | Promise<void> } = {},
): SftpChannel & { reads: number; closed: number } {
  let reads = 0;
  const ch = {
    maxRead: CHUNK,
    reads: 0,
    closed: 0,
    open: async () => Buffer.from('h'),
    close: async () => {
      ch.closed++;
    },
    read: async (_h: Buffer, buf: Buffer, off: number, len: number, pos: number) => {
      const n = ++reads;
      ch.reads = n;
      await new Promise((r) => setImmediate(r)); // answers come back interleaved, as from a server
      await o.beforeRead?.(n, pos);
      const data = content();
      const got = Math.max(0, Math.min(len, o.maxPerRead ?? len, data.length - pos));
      if (got > 0) data.copy(buf, off, pos, pos + got);
      return got;
    },
  };
  return ch as unknown as SftpChannel & { reads: number; closed: number };
}

/** A sink that checks the write contract (in order, back to back, one at a time) and keeps the bytes. */
function checkingSink(o: { failAt?: number; seen?: Set<ArrayBufferLike> } = {}): FetchSink & { bytes: () => Buffer; calls: number } {
  const parts: Buffer[] = [];
  let end = 0;
  let busy = false;
  const sink = {
    calls: 0,
    bytes: () => Buffer.concat(parts),
    write: async (chunks: Buffer[], pos: number) => {
      assert.equal(busy, false, 'two writes at once');
      assert.equal(pos, end, 'writes are back to back, in file order');
      busy = true;
      sink.calls++;
      await new Promise((r) => setImmediate(r));
      busy = false;
      if (o.failAt !== undefined && pos >= o.failAt) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      for (const c of chunks) {
        o.seen?.add(c.buffer);
        parts.push(Buffer.from(c));
        end += c.length;
      }
    },
  };
  return sink;
}

describe('fetchFile against a scripted channel', () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 7 * CHUNK + 7]) {
    test(`a file of ${size} bytes arrives whole, in order, and every buffer goes back to the pool`, async () => {
      const data = randomBytes(size);
      const pool = new BufferPool(CHUNK, 4);
      const sink = checkingSink();
      const ch = scriptedChannel(() => data);
      assert.equal(await fetchFile(ch, '/f', sink, { pool, sizeHint: size, maxBatch: 3 }), size);
      assert.ok(sink.bytes().equals(data));
      assert.equal(pool.available, 4);
      // The data and one end-of-file probe, never more than that (a stable file costs no extra round trip).
      assert.ok(ch.reads <= Math.ceil(size / CHUNK) + 1, `${ch.reads} reads`);
      await new Promise((r) => setImmediate(r));
      assert.equal(ch.closed, 1);
    });
  }

  test('a file that grew since the listing is read to its new end', async () => {
    const data = randomBytes(5 * CHUNK + 300);
    const sink = checkingSink();
    const pool = new BufferPool(CHUNK, 3);
    assert.equal(
      await fetchFile(
        scriptedChannel(() => data),
        '/f',
        sink,
        { pool, sizeHint: 2 * CHUNK },
      ),
      data.length,
    );
    assert.ok(sink.bytes().equals(data));
    assert.equal(pool.available, 3);
  });

  test('a file that shrank while being read ends at its new end; nothing past it is written', async () => {
    let data = randomBytes(8 * CHUNK);
    const sink = checkingSink();
    const pool = new BufferPool(CHUNK, 4);
    // After the third answer the file is cut to 2.5 chunks: chunks already read beyond are dropped.
    const ch = scriptedChannel(() => data, {
      beforeRead: (n) => {
        if (n === 3) data = data.subarray(0, 2.5 * CHUNK);
      },
    });
    const n = await fetchFile(ch, '/f', sink, { pool, sizeHint: 8 * CHUNK });
    assert.equal(n, 2.5 * CHUNK);
    assert.ok(sink.bytes().equals(data));
    assert.equal(pool.available, 4);
  });

  test('short answers (a server that returns less than asked) are completed', async () => {
    const data = randomBytes(4 * CHUNK + 1);
    const sink = checkingSink();
    const pool = new BufferPool(CHUNK, 2);
    assert.equal(
      await fetchFile(
        scriptedChannel(() => data, { maxPerRead: 300 }),
        '/f',
        sink,
        { pool, sizeHint: data.length },
      ),
      data.length,
    );
    assert.ok(sink.bytes().equals(data));
  });

  test('a failing read rejects, nothing is written after it, and every buffer goes back', async () => {
    const data = randomBytes(10 * CHUNK);
    const sink = checkingSink();
    const pool = new BufferPool(CHUNK, 4);
    const ch = scriptedChannel(() => data, {
      beforeRead: (n) => {
        if (n === 5) throw new SshError('SSH_DISCONNECTED', 'lost the SSH connection');
      },
    });
    await assert.rejects(fetchFile(ch, '/f', sink, { pool, sizeHint: data.length }), (e: unknown) => e instanceof SshError && e.code === 'SSH_DISCONNECTED');
    assert.ok(sink.bytes().length < data.length);
    assert.equal(pool.available, 4);
  });

  test('a failing write (disk full) rejects with that error, and every buffer goes back', async () => {
    const data = randomBytes(10 * CHUNK);
    const sink = checkingSink({ failAt: 3 * CHUNK });
    const pool = new BufferPool(CHUNK, 4);
    await assert.rejects(
      fetchFile(
        scriptedChannel(() => data),
        '/f',
        sink,
        { pool, sizeHint: data.length, maxBatch: 1 },
      ),
      (e: unknown) => (e as { code?: string }).code === 'ENOSPC',
    );
    assert.equal(pool.available, 4);
  });

  test('several files share one pool: memory stays at the pool whatever their number and size', async () => {
    const files = Array.from({ length: 12 }, (_, i) => randomBytes(i * 997));
    const pool = new BufferPool(CHUNK, 5);
    const seen = new Set<ArrayBufferLike>();
    const sinks = files.map(() => checkingSink({ seen }));
    await Promise.all(
      files.map((f, i) =>
        fetchFile(
          scriptedChannel(() => f),
          `/f${i}`,
          sinks[i]!,
          { pool, sizeHint: f.length },
        ),
      ),
    );
    files.forEach((f, i) => assert.ok(sinks[i]!.bytes().equals(f), `file ${i}`));
    // 65 KB went through 5 buffers of 1000 bytes: no other memory ever held file data.
    assert.equal(seen.size, 5);
    assert.equal(pool.available, 5);
  });
});

describe('fetchFile against a real sshd', () => {
  const { session, work } = sshSessionFixture('pitr-ssh-fetch-');

  test('many files at once through one channel and a small pool arrive byte for byte', async () => {
    const dir = join(work.path, 'src');
    mkdirSync(dir);
    const ch = await session().openSftp();
    const sizes = [0, 1, 8192, ch.maxRead - 1, ch.maxRead, ch.maxRead + 1, 3 * ch.maxRead + 5, 9 * 1024 * 1024 + 3];
    const files = sizes.map((n, i) => {
      const data = randomBytes(n);
      writeFileSync(join(dir, `f${i}`), data);
      return data;
    });
    const pool = new BufferPool(ch.maxRead, 6);
    const sinks = files.map(() => checkingSink());
    const got = await Promise.all(files.map((f, i) => fetchFile(ch, join(dir, `f${i}`), sinks[i]!, { pool, sizeHint: f.length })));
    assert.deepEqual(got, sizes);
    files.forEach((f, i) => assert.equal(sha256(sinks[i]!.bytes()), sha256(f), `f${i}`));
    assert.equal(pool.available, 6);
    // A file the listing had but the master dropped since: the OPEN fails with no such file.
    await assert.rejects(
      fetchFile(ch, join(dir, 'gone'), checkingSink(), { pool, sizeHint: 10 }),
      (e: unknown) => e instanceof SshError && e.code === 'SFTP_NO_SUCH_FILE',
    );
    ch.end();
  });
});

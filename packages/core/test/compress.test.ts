import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { codecFor, formatCompress, parseCompress } from '../src/compress.js';
import { PitrError } from '../src/errors.js';

test('parseCompress reads none, lz4, zstd and zstd:LEVEL, and names the key on anything else', () => {
  assert.deepEqual(parseCompress('none'), { algo: 'none', level: 0 });
  assert.deepEqual(parseCompress('LZ4'), { algo: 'lz4', level: 0 });
  assert.deepEqual(parseCompress('zstd'), { algo: 'zstd', level: 1 });
  assert.deepEqual(parseCompress('zstd:9'), { algo: 'zstd', level: 9 });
  assert.equal(formatCompress(parseCompress('zstd:9')), 'zstd:9');
  assert.equal(formatCompress(parseCompress('zstd')), 'zstd');
  for (const bad of ['gzip', 'zstd:0', 'zstd:20', 'zstd:x']) {
    assert.throws(
      () => parseCompress(bad),
      (e: unknown) => e instanceof PitrError && e.code === 'CONFIG_BAD_VALUE' && e.message.startsWith('compress:'),
    );
  }
});

test('every codec gives back the same bytes, and refuses data that does not decompress to the announced size', () => {
  const wal = Buffer.concat([Buffer.alloc(1 << 20, 0), randomBytes(64 * 1024), Buffer.from('pgbench '.repeat(8192))]);
  for (const algo of ['none', 'lz4', 'zstd'] as const) {
    const c = codecFor(parseCompress(algo));
    const z = c.compress(wal);
    if (algo !== 'none') assert.ok(z.length < wal.length / 4, `${algo} compresses`);
    assert.ok(c.decompress(z, wal.length).equals(wal), `${algo} round trip`);
    assert.throws(
      () => c.decompress(z, wal.length + 1),
      (e: unknown) => e instanceof PitrError && e.code === 'COMPRESS_CORRUPT',
    );
  }
  const z = codecFor(parseCompress('zstd')).compress(wal);
  assert.throws(
    () => codecFor(parseCompress('zstd')).decompress(z.subarray(0, z.length >> 1), wal.length),
    (e: unknown) => e instanceof PitrError && e.code === 'COMPRESS_CORRUPT',
  );
});

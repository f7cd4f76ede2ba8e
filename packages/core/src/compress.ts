/**
 * Compression on the wire (ini key `compress`): one codec interface over the two native libraries
 * we ship, chosen by measurement on 16 MiB WAL segments of a pgbench run (Node 20, one core of
 * this project's 2-core machine; /tmp bench in the commit that added this file):
 * - zstd: zstd-napi (libzstd 1.5 through N-API). Level 1 compressed pgbench WAL 3.0 x at
 *   ~490 MB/s and decompressed at ~850 MB/s; level 3 the same ratio at ~310 MB/s; the
 *   WebAssembly build (@bokuweb/zstd-wasm) took 2.2 x the time at level 3, Node's gzip level 1
 *   gave 2.7 x at ~140 MB/s. Node 20 has no zstd in node:zlib (it came in 22.15).
 * - lz4: lz4-napi (lz4 through napi-rs, prebuilt per platform on npm: no build at install):
 *   2.0 x on the same WAL, ~4 ms per mostly-empty segment, faster than zstd on incompressible data.
 * Both are loaded on first use only, so a run with `compress: none` never loads a native library,
 * and a library that cannot load is an error naming the key and the fix, never a silent
 * fallback to sending uncompressed (the user asked for compression).
 */
import { createRequire } from 'node:module';
import { PitrError } from './errors.js';

/** The algorithms `compress` accepts. */
export type CompressAlgo = 'none' | 'lz4' | 'zstd';

/** A parsed `compress` value: algorithm and level (zstd 1-19, default 1; lz4 and none have none). */
export interface CompressSpec {
  algo: CompressAlgo;
  level: number;
}

/** Compresses and decompresses whole buffers (one WAL segment or one block of a file). */
export interface Codec {
  readonly spec: CompressSpec;
  /** The compressed form of `data` (a new Buffer). */
  compress(data: Buffer): Buffer;
  /** The original bytes; `size` is their length in bytes (known from the frame header). Throws COMPRESS_CORRUPT when the data does not decompress to exactly `size` bytes. */
  decompress(data: Buffer, size: number): Buffer;
  /** Most bytes compressInto can write for `n` input bytes. */
  bound(n: number): number;
  /**
   * Compresses `src` into `dest` (at least bound(src.length) bytes); returns the bytes written.
   * zstd and none allocate nothing (the WAL stream's pieces reuse their buffers: wire/send.ts).
   */
  compressInto(src: Buffer, dest: Buffer): number;
  /** Decompresses `src` into exactly `dest.length` bytes; throws COMPRESS_CORRUPT when it is not that. */
  decompressInto(src: Buffer, dest: Buffer): void;
}

/** Default zstd level: level 1 gave the same ratio as 3 on WAL at 1.6 x the speed (see above). */
export const ZSTD_DEFAULT_LEVEL = 1;

/** The values `compress` accepts, as every message that refuses one lists them. */
export const COMPRESS_CHOICES = 'none, lz4, zstd, zstd:LEVEL (1-19)';

/** The one wording for a refused `compress` value (both ini files, the wire hello): what it is not, and what it may be. */
export function badCompressMessage(value: string): string {
  return `'${value}' is not one of: ${COMPRESS_CHOICES}`;
}

/**
 * Parses `none`, `lz4`, `zstd` or `zstd:LEVEL` (1-19). Throws CONFIG_BAD_VALUE naming `key`
 * (e.g. "compress") on anything else.
 */
export function parseCompress(value: string, key = 'compress'): CompressSpec {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'none' || v === 'off') return { algo: 'none', level: 0 };
  if (v === 'lz4') return { algo: 'lz4', level: 0 };
  const m = /^zstd(?::(\d+))?$/.exec(v);
  if (m) {
    const level = m[1] === undefined ? ZSTD_DEFAULT_LEVEL : Number(m[1]);
    if (level >= 1 && level <= 19) return { algo: 'zstd', level };
  }
  throw new PitrError('CONFIG_BAD_VALUE', `${key}: ${badCompressMessage(value)}`, { hint: `e.g. ${key}: zstd` });
}

/** The `compress` value as written in an ini file (parseCompress's inverse). */
export function formatCompress(spec: CompressSpec): string {
  return spec.algo === 'zstd' && spec.level !== ZSTD_DEFAULT_LEVEL ? `zstd:${spec.level}` : spec.algo;
}

const require = createRequire(import.meta.url);

function loadNative<T>(pkg: string, algo: CompressAlgo): T {
  try {
    return require(pkg) as T;
  } catch (err) {
    throw new PitrError('COMPRESS_UNAVAILABLE', `compress: ${algo} needs the native library ${pkg}, which does not load here: ${(err as Error).message}`, {
      hint: `reinstall pitrtools for this platform and Node.js, or set compress: none`,
    });
  }
}

interface ZstdNapi {
  Compressor: new () => { setParameters(p: { compressionLevel: number }): void; compress(b: Buffer): Buffer };
  Decompressor: new () => { decompress(b: Buffer): Buffer };
}
/** zstd-napi's binding (its binding.d.ts): contexts that compress into a buffer we own. */
interface ZstdBinding {
  CCtx: new () => { setParameter(p: number, v: number): void; compress2(dst: Uint8Array, src: Uint8Array): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  CParameter: { compressionLevel: number };
  compressBound(n: number): number;
}
interface Lz4Napi {
  compressSync(b: Buffer): Buffer;
  uncompressSync(b: Buffer): Buffer;
}

/** Runs a decompression; a library error becomes COMPRESS_CORRUPT naming the algorithm. */
function corruptOnThrow<T>(algo: CompressAlgo, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PitrError) throw err;
    throw new PitrError('COMPRESS_CORRUPT', `${algo} data does not decompress: ${(err as Error).message}`);
  }
}

function checked(out: Buffer, size: number, algo: CompressAlgo): Buffer {
  if (out.length !== size) throw new PitrError('COMPRESS_CORRUPT', `${algo} data decompressed to ${out.length} bytes, ${size} expected`);
  return out;
}

/** A codec for `spec`. Throws COMPRESS_UNAVAILABLE when its native library cannot be loaded. */
export function codecFor(spec: CompressSpec): Codec {
  switch (spec.algo) {
    case 'none':
      return {
        spec,
        compress: (d) => d,
        decompress: (d, size) => checked(d, size, 'none'),
        bound: (n) => n,
        compressInto: (src, dest) => src.copy(dest),
        decompressInto: (src, dest) => void checked(src, dest.length, 'none').copy(dest),
      };
    case 'lz4': {
      const lz4 = loadNative<Lz4Napi>('lz4-napi', 'lz4');
      return {
        spec,
        compress: (d) => lz4.compressSync(d),
        decompress: (d, size) => corruptOnThrow('lz4', () => checked(lz4.uncompressSync(d), size, 'lz4')),
        // LZ4_COMPRESSBOUND (lz4.h) plus lz4-napi's 4-byte size prefix.
        bound: (n) => n + Math.floor(n / 255) + 16 + 4,
        // lz4-napi returns a new buffer: a piece's worth (1 MiB) of short-lived garbage per call.
        compressInto: (src, dest) => lz4.compressSync(src).copy(dest),
        decompressInto: (src, dest) => void corruptOnThrow('lz4', () => checked(lz4.uncompressSync(src), dest.length, 'lz4')).copy(dest),
      };
    }
    case 'zstd': {
      const zstd = loadNative<ZstdNapi>('zstd-napi', 'zstd');
      const b = loadNative<ZstdBinding>('zstd-napi/binding', 'zstd');
      const c = new zstd.Compressor();
      c.setParameters({ compressionLevel: spec.level });
      const dc = new zstd.Decompressor();
      const cctx = new b.CCtx();
      cctx.setParameter(b.CParameter.compressionLevel, spec.level);
      const dctx = new b.DCtx();
      return {
        spec,
        compress: (d) => c.compress(d),
        decompress: (d, size) => corruptOnThrow('zstd', () => checked(dc.decompress(d), size, 'zstd')),
        bound: (n) => b.compressBound(n),
        compressInto: (src, dest) => cctx.compress2(dest, src),
        decompressInto: (src, dest) => {
          const n = corruptOnThrow('zstd', () => dctx.decompress(dest, src));
          if (n !== dest.length) throw new PitrError('COMPRESS_CORRUPT', `zstd data decompressed to ${n} bytes, ${dest.length} expected`);
        },
      };
    }
  }
}

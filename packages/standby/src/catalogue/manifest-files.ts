/**
 * The files of a finished backup set with their SHA-256, for backup_manifest. Read back from the
 * set after the copy rather than hashed in the copy workers: hashing on the way in would change
 * the worker protocol that -B's engine shares; the files were just written and fsynced, so this
 * read comes from the page cache (measured: docs/backups.md, "backup_manifest").
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { manifestChecksumLine, manifestHead, manifestLine, manifestWalPart, type ManifestFile, type ManifestHeader } from './manifest.js';

/** Names PostgreSQL's manifest never lists at the top (pg_verifybackup ignores them too). */
const NOT_LISTED = new Set(['backup_manifest']);

const SLASH = Buffer.from('/');

/** SHA-256 (hex) and size of one file, read in 1 MiB pieces. */
export async function hashFile(path: string | Buffer, onBytes?: (n: number) => void): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    size += chunk.length;
    onBytes?.(chunk.length);
  }
  return { sha256: h.digest('hex'), size };
}

/** A file of the set, as the ordered walk finds it. */
interface Found {
  abs: Buffer;
  rel: Buffer;
}

/**
 * Every regular file below `root` (directories followed, symlinks not; backup_manifest at the
 * top left out) in the order of their relative paths' bytes, one directory's names held at a
 * time: a directory's entries sorted with a '/' after a subdirectory's name give that order
 * depth first ("base.txt" < "base/1" because '.' < '/'). Names are held as latin1 strings
 * (one byte per character, compared as bytes), ~30 bytes each for a relation file's name.
 */
export async function* orderedFiles(root: string): AsyncGenerator<Found> {
  async function* walk(dir: Buffer, rel: Buffer | undefined): AsyncGenerator<Found> {
    const keys: string[] = [];
    for (const name of await fsp.readdir(dir, { encoding: 'buffer' })) {
      if (rel === undefined && NOT_LISTED.has(name.toString('latin1'))) continue;
      const st = await fsp.lstat(Buffer.concat([dir, SLASH, name]));
      if (st.isDirectory()) keys.push(`${name.toString('latin1')}/`);
      else if (st.isFile()) keys.push(name.toString('latin1'));
    }
    keys.sort(); // UTF-16 code units of latin1 strings: the bytes' order
    for (const key of keys) {
      const isDir = key.endsWith('/');
      const name = Buffer.from(isDir ? key.slice(0, -1) : key, 'latin1');
      const abs = Buffer.concat([dir, SLASH, name]); // bytes: a name that is not UTF-8 stays what it is
      const r = rel === undefined ? name : Buffer.concat([rel, SLASH, name]);
      if (isDir) yield* walk(abs, r);
      else yield { abs, rel: r };
    }
  }
  yield* walk(Buffer.from(root.replace(/\/+$/, ''), 'utf8'), undefined);
}

/** Hashes the files of `files` `parallel` at a time and yields them in their order, with size, mtime and SHA-256. */
async function* hashed(files: AsyncIterable<Found>, parallel: number, onBytes?: (n: number) => void): AsyncGenerator<ManifestFile> {
  const window: Array<Promise<ManifestFile>> = [];
  const one = async (f: Found): Promise<ManifestFile> => {
    const st = await fsp.lstat(f.abs);
    const { sha256, size } = await hashFile(f.abs, onBytes);
    return { path: f.rel, size, mtimeS: Math.floor(st.mtimeMs / 1000), sha256 };
  };
  try {
    for await (const f of files) {
      const p = one(f);
      p.catch(() => undefined); // its failure is thrown when its turn comes, not as an unhandled rejection
      window.push(p);
      if (window.length >= Math.max(1, parallel)) yield await window.shift()!;
    }
    while (window.length > 0) yield await window.shift()!;
  } finally {
    await Promise.allSettled(window); // an early stop leaves no read running
  }
}

/** Every regular file below `root` with its SHA-256, sorted by path bytes (orderedFiles), hashed `parallel` at a time: for small sets and tests; writeManifest streams. */
export async function manifestFiles(root: string, parallel = 4, onBytes?: (n: number) => void): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  for await (const f of hashed(orderedFiles(root), parallel, onBytes)) out.push(f);
  return out;
}

/** Lines collected up to this many characters per write. */
const WRITE_CHARS = 256 * 1024;

/**
 * Writes `dest` (0600, fsynced) as backup_manifest of the files below `root`, line by line as
 * they are hashed, the Manifest-Checksum computed on the way: what is held does not grow with
 * the number of files (a list of them all and the whole text were ~60-80 MB at 100 000 files).
 * Returns the count and bytes of the files listed. Throws what reading, hashing or writing throws.
 */
export async function writeManifest(
  root: string,
  header: ManifestHeader,
  dest: string,
  parallel = 4,
  onBytes?: (n: number) => void,
): Promise<{ files: number; bytes: number }> {
  const fh = await fsp.open(dest, 'w', 0o600);
  try {
    const sum = createHash('sha256');
    let pending = manifestHead(header);
    const flush = async (): Promise<void> => {
      const b = Buffer.from(pending, 'utf8');
      pending = '';
      sum.update(b);
      await fh.write(b);
    };
    let files = 0;
    let bytes = 0;
    for await (const f of hashed(orderedFiles(root), parallel, onBytes)) {
      pending += manifestLine(f, files === 0);
      files++;
      bytes += f.size;
      if (pending.length >= WRITE_CHARS) await flush();
    }
    pending += manifestWalPart(header);
    await flush();
    await fh.write(Buffer.from(manifestChecksumLine(sum.digest('hex')), 'utf8'));
    await fh.sync();
    return { files, bytes };
  } finally {
    await fh.close();
  }
}

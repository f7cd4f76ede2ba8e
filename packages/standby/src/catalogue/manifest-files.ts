/**
 * The files of a finished backup set with their SHA-256, for backup_manifest. Read back from the
 * set after the copy rather than hashed in the copy workers: hashing on the way in would change
 * the worker protocol that -B's engine shares; the files were just written and fsynced, so this
 * read comes from the page cache (measured: docs/backups.md, "backup_manifest").
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { ManifestFile } from './manifest.js';

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

/**
 * Every regular file below `root` (directories followed, symlinks not), sorted by path bytes,
 * hashed `parallel` at a time (`onBytes` for a progress meter). Paths are raw bytes relative to root.
 */
export async function manifestFiles(root: string, parallel = 4, onBytes?: (n: number) => void): Promise<ManifestFile[]> {
  const found: Array<{ abs: Buffer; rel: Buffer; mtimeS: number }> = [];
  const walk = async (dir: Buffer, rel: Buffer | undefined): Promise<void> => {
    const names = await fsp.readdir(dir, { encoding: 'buffer' });
    for (const name of names) {
      const abs = Buffer.concat([dir, SLASH, name]); // bytes: a name that is not UTF-8 stays what it is
      const r = rel === undefined ? name : Buffer.concat([rel, SLASH, name]);
      if (rel === undefined && NOT_LISTED.has(name.toString('latin1'))) continue;
      const st = await fsp.lstat(abs);
      if (st.isDirectory()) await walk(abs, r);
      else if (st.isFile()) found.push({ abs, rel: r, mtimeS: Math.floor(st.mtimeMs / 1000) });
    }
  };
  await walk(Buffer.from(root.replace(/\/+$/, ''), 'utf8'), undefined);
  found.sort((a, b) => Buffer.compare(a.rel, b.rel));
  const out = new Array<ManifestFile>(found.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < found.length) {
      const i = next++;
      const f = found[i]!;
      const { sha256, size } = await hashFile(f.abs, onBytes);
      out[i] = { path: f.rel, size, mtimeS: f.mtimeS, sha256 };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  return out;
}

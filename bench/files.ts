/**
 * File facts the benchmark checks results with: content hashes of WAL segments and a summary of
 * a data directory tree (what a complete copy must contain).
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** sha256 of a file's content, hex. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Names of the segments PostgreSQL has marked ready to archive (pg_wal/archive_status/*.ready). */
export async function readySegments(pgdata: string): Promise<string[]> {
  const names = await fsp.readdir(join(pgdata, 'pg_wal', 'archive_status'));
  return names
    .filter((n) => n.endsWith('.ready'))
    .map((n) => n.slice(0, -'.ready'.length))
    .sort();
}

/** Every regular file below `root`, as path relative to root and size; symlinks are not followed. */
export async function listFiles(root: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(r)) continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.set(r, (await fsp.stat(join(root, r))).size);
    }
  };
  await walk('');
  return out;
}

/** Total bytes of a file map. */
export function totalBytes(files: Map<string, number>): number {
  let n = 0;
  for (const s of files.values()) n += s;
  return n;
}

/** Reads every file once (keeps a data directory in the page cache for every method alike). */
export async function readAll(root: string, files: Map<string, number>): Promise<void> {
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const rel of files.keys()) {
    const fh = await fsp.open(join(root, rel), 'r');
    try {
      while ((await fh.read(buf, 0, buf.length, null)).bytesRead > 0) {
        /* just read */
      }
    } finally {
      await fh.close();
    }
  }
}

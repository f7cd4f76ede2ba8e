/**
 * --checksum: decide by content, not by size and mtime. The master hashes its file through SQL
 * (sha256 of pg_read_binary_file in 16 MiB pieces, so it never holds more than a piece in memory)
 * and we hash ours the same way; only files whose hashes differ are transferred. This needs the
 * database user to be a superuser or a member of pg_read_server_files.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { PgSession } from '@pitrtools/core/pg/client';
import type { FileJob } from './plan.js';

const PIECE = 16 * 1024 * 1024;

/** sha256 (hex) of each 16 MiB piece of a local file, or undefined when it is missing. */
export async function localPieceHashes(path: string): Promise<string[] | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const out: string[] = [];
    const buf = Buffer.allocUnsafe(PIECE);
    for (let pos = 0; ; pos += PIECE) {
      let got = 0;
      while (got < PIECE) {
        const { bytesRead } = await fh.read(buf, got, PIECE - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got === 0) break;
      out.push(createHash('sha256').update(buf.subarray(0, got)).digest('hex'));
      if (got < PIECE) break;
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** The same hashes computed by the master's PostgreSQL. */
export async function remotePieceHashes(pg: PgSession, path: string, size: number): Promise<string[]> {
  const rows = await pg.query<{ h: string | null }>(
    `SELECT encode(sha256(pg_read_binary_file($1, off, $2, true)), 'hex') AS h
       FROM generate_series(0::bigint, $3::bigint - 1, $2::bigint) AS off ORDER BY off`,
    [path, PIECE, size],
  );
  return rows.map((r) => r.h ?? '');
}

/**
 * A sameContent function for -B. Several may run at once (local files are hashed in parallel);
 * their queries take turns on the backup's one database session.
 */
export function contentComparer(pg: PgSession): (job: FileJob) => Promise<boolean> {
  let turn: Promise<unknown> = Promise.resolve();
  return async (job) => {
    const st = await fsp.stat(job.local).catch(() => undefined);
    if (!st?.isFile() || st.size !== job.size) return false;
    const mine = await localPieceHashes(job.local);
    if (mine === undefined) return false;
    const query = turn.catch(() => undefined).then(() => remotePieceHashes(pg, job.remote, job.size));
    turn = query;
    const theirs = await query;
    return mine.length === theirs.length && mine.every((h, i) => h === theirs[i]);
  };
}

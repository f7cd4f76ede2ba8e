/**
 * Storing one received file in the slave's archive directory with every rule of the SFTP upload
 * (ssh/sftp-upload.ts): write a dot-temp in the directory, fsync it, close it (its result counts),
 * link(2) it to the final name (fails when the name exists: nothing is ever overwritten), unlink
 * the temp, fsync the directory. When the name exists, the CONTENT is compared (the original,
 * decompressed bytes): same is success (fsynced again, as an earlier attempt may have died before
 * its fsync), different is a conflict left untouched. Every step throws on failure.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { sha256 } from './frame.js';

/** An open file being written. */
export interface PlaceHandle {
  write(data: Buffer): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The file system calls placeFile needs; errors carry `code` (errno name) as node:fs's do. */
export interface PlaceFs {
  /** Creates `path` (O_CREAT|O_EXCL|O_NOFOLLOW) with `mode`. */
  create(path: string, mode: number): Promise<PlaceHandle>;
  link(existing: string, path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** lstat: undefined when nothing has the name. */
  lstat(path: string): Promise<{ isFile: boolean; size: number } | undefined>;
  readFile(path: string): Promise<Buffer>;
  fsyncFile(path: string): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

/** What placeFile did: stored (new), same (already there, identical, fsynced), conflict (a different file, untouched). */
export type PlaceOutcome = { status: 'stored' | 'same' } | { status: 'conflict'; theirSize: number; theirSha256: string };

/** A temp name of the same shape as sftp-upload's, so removeStaleTemps finds one a killed receiver left. */
export function receiveTempName(name: string): string {
  return `.${name}.${randomBytes(8).toString('hex')}.tmp`;
}

/** Largest existing file read to compare; a bigger one differs by size anyway. */
const MAX_COMPARE = 1024 * 1024 * 1024;

/** Stores `data` as `dir/name` durably without overwriting; throws the failing step's error (errno `code`). `dirFsync` false only for remote_dir_fsync: off. */
export async function placeFile(fs: PlaceFs, dir: string, name: string, data: Buffer, dirFsync = true): Promise<PlaceOutcome> {
  const finalPath = posix.join(dir, name);
  const tmpPath = posix.join(dir, receiveTempName(name));
  const h = await fs.create(tmpPath, 0o600);
  let tmpExists = true;
  try {
    let closed = false;
    try {
      await h.write(data);
      await h.sync();
      closed = true;
      await h.close(); // close(2) reports delayed write errors on some filesystems (NFS)
    } finally {
      if (!closed) await h.close().catch(() => undefined);
    }
    try {
      await fs.link(tmpPath, finalPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await fs.lstat(finalPath);
      if (st === undefined) throw err; // gone again meanwhile: let the sender retry
      const theirs = st.isFile && st.size <= MAX_COMPARE ? await fs.readFile(finalPath) : undefined;
      if (theirs !== undefined && theirs.equals(data)) {
        await fs.fsyncFile(finalPath);
        if (dirFsync) await fs.fsyncDir(dir);
        return { status: 'same' };
      }
      return { status: 'conflict', theirSize: st.size, theirSha256: theirs !== undefined ? sha256(theirs) : '' };
    }
    await fs.unlink(tmpPath);
    tmpExists = false;
    if (dirFsync) await fs.fsyncDir(dir);
    return { status: 'stored' };
  } finally {
    if (tmpExists) await fs.unlink(tmpPath).catch(() => undefined);
  }
}

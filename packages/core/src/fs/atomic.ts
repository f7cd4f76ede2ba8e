/**
 * Durable local files: write to a temp name in the target directory, fsync, then link or rename
 * into place and fsync the directory. Used for queued segments, state files and restored WAL.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorCode } from '../errors.js';
import { CREATE_NEW } from './ownership.js';
import { openTemp, untrackTemp } from './temp-registry.js';

/** Result of a no-clobber placement. */
export type PlaceStatus = 'created' | 'identical' | 'conflict';

/** A temp name in `dir` that no reader of the directory mistakes for real data (leading dot). */
export function tempName(dir: string, name: string): string {
  return join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** fsyncs a directory so a rename or link inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs one file by path. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `path` atomically (temp + fsync + rename + dir fsync), replacing any old file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = tempName(dir, basename(path));
  try {
    const fh = await openTemp(tmp, CREATE_NEW, mode); // O_EXCL | O_NOFOLLOW: a fresh file of ours
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  } finally {
    untrackTemp(tmp);
  }
  await fsyncDir(dir);
}

/** Bytes read and written at a time by copyToTemp. */
const COPY_CHUNK = 1 << 20;

/** Rethrows `err` with `path` set where the call did not set one (calls on a file handle do not): which side failed is told by it. */
function at(path: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof Error && (err as NodeJS.ErrnoException).path === undefined) (err as NodeJS.ErrnoException).path = path;
    throw err;
  };
}

/**
 * Copies `src` to a fsynced temp file in `dir` and returns the temp path; the caller places it
 * and then calls untrackTemp. The temp is created by openTemp (O_EXCL, O_NOFOLLOW, tracked), so a
 * SIGTERM in the middle of the copy removes it (dropTempsOnSignal), which fs.copyFile's own
 * open could not promise.
 */
async function copyToTemp(src: string, dir: string, name: string, mode: number): Promise<string> {
  const tmp = tempName(dir, name);
  try {
    const inp = await fsp.open(src, 'r');
    try {
      const out = await openTemp(tmp, CREATE_NEW, mode);
      try {
        await out.chmod(mode).catch(at(tmp)); // exactly `mode`, whatever the umask
        const buf = Buffer.allocUnsafe(COPY_CHUNK);
        for (let pos = 0; ;) {
          const { bytesRead } = await inp.read(buf, 0, buf.length, pos).catch(at(src));
          if (bytesRead === 0) break;
          for (let done = 0; done < bytesRead;) done += (await out.write(buf, done, bytesRead - done, pos + done).catch(at(tmp))).bytesWritten;
          pos += bytesRead;
        }
        await out.sync().catch(at(tmp));
      } finally {
        await out.close().catch(at(tmp));
      }
    } finally {
      await inp.close();
    }
    return tmp;
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    untrackTemp(tmp);
    throw err;
  }
}

/** True when two local files have the same bytes. */
export async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fsp.stat(a), fsp.stat(b)]);
  if (sa.size !== sb.size) return false;
  const [ba, bb] = await Promise.all([fsp.readFile(a), fsp.readFile(b)]);
  return ba.equals(bb);
}

/**
 * Copies `src` into `dir/name` durably and WITHOUT overwriting: link(2) refuses an existing name.
 * An existing file with the same bytes is 'identical' once it and `dir` are fsynced (the writer
 * before us may have died before its fsyncs); different bytes are a 'conflict' and the existing
 * file is left as it is. Throws the failing step's error (copy, fsync, link, unlink, directory
 * fsync): then `dir/name` must not be counted as durable.
 */
export async function copyFileNoClobber(src: string, dir: string, name: string, mode = 0o600): Promise<PlaceStatus> {
  const dest = join(dir, name);
  const tmp = await copyToTemp(src, dir, name, mode);
  let status: PlaceStatus = 'created';
  try {
    await fsp.link(tmp, dest);
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
    status = (await sameContent(src, dest)) ? 'identical' : 'conflict';
  } finally {
    await fsp.rm(tmp, { force: true });
    untrackTemp(tmp);
  }
  if (status === 'conflict') return status;
  if (status === 'identical') await fsyncFile(dest);
  await fsyncDir(dir);
  return status;
}

/** Copies `src` to `dest` durably, replacing what is there (restore into pg_wal, config copies). */
export async function copyFileAtomic(src: string, dest: string, mode = 0o600): Promise<void> {
  const dir = dirname(dest);
  const tmp = await copyToTemp(src, dir, basename(dest), mode);
  try {
    await fsp.rename(tmp, dest);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  } finally {
    untrackTemp(tmp);
  }
  await fsyncDir(dir);
}

/** Removes leftovers of writers that died (our own `.NAME.PID.RAND.tmp` files) older than `ageMs`. */
export async function removeStaleTemps(dir: string, ageMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const entry of await fsp.readdir(dir)) {
    if (!entry.startsWith('.') || !entry.endsWith('.tmp')) continue;
    const p = join(dir, entry);
    try {
      const st = await fsp.stat(p);
      if (now - st.mtimeMs > ageMs) {
        await fsp.rm(p, { force: true });
        removed++;
      }
    } catch {
      /* raced with its owner */
    }
  }
  return removed;
}

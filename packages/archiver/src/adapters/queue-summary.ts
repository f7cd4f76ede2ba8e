/**
 * What a queue holds (files, bytes, the oldest), kept in `.queue-summary` next to the segments so
 * that the per-segment path reads it in constant time instead of listing the directory. It is a
 * cache: the segment files stay the truth. Every change to the queue's segments and the summary's
 * update happen together under `.queue-lock`; a lock left by a process that died (a crash between
 * the file change and the summary) makes the next locker rebuild the summary from the directory.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { PitrError, errorCode } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';
import { compareWalNames, isWalName } from '@pitrtools/core/wal';
import type { QueuedFile } from '../archive/ports.js';

/** The summary's file name in a queue directory. */
export const SUMMARY_FILE = '.queue-summary';
/** The lock's file name in a queue directory (content: `pid time`). */
export const LOCK_FILE = '.queue-lock';

/** Count, bytes and (when known) the oldest file of a queue. */
export interface Summary {
  count: number;
  bytes: number;
  /** The oldest queued file in WAL order; undefined when unknown (after it was delivered) or the queue is empty. */
  oldest: QueuedFile | undefined;
}

/** An empty queue. */
export const EMPTY_SUMMARY: Summary = { count: 0, bytes: 0, oldest: undefined };

// A holder older than this is taken for dead even if its pid lives (a reused pid after a reboot).
const LOCK_STALE_MS = 10 * 60_000;
const LOCK_WAIT_MS = 120_000;

/** The summary of `dir`, or undefined when it is missing or unreadable (then it must be rebuilt). */
export async function readSummary(dir: string): Promise<Summary | undefined> {
  let text: string;
  try {
    const fh = await fsp.open(join(dir, SUMMARY_FILE), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ELOOP') return undefined;
    throw err;
  }
  try {
    const s = JSON.parse(text) as Partial<Summary>;
    if (!Number.isSafeInteger(s.count) || !Number.isSafeInteger(s.bytes) || s.count! < 0 || s.bytes! < 0) return undefined;
    const o = s.oldest;
    const oldest =
      o && typeof o.name === 'string' && isWalName(o.name) && typeof o.size === 'number' && typeof o.mtimeMs === 'number'
        ? { name: o.name, size: o.size, mtimeMs: o.mtimeMs }
        : undefined;
    return { count: s.count!, bytes: s.bytes!, oldest: s.count === 0 ? undefined : oldest };
  } catch {
    return undefined;
  }
}

/** Writes the summary durably (temp, fsync, rename, directory fsync). */
export async function writeSummary(dir: string, s: Summary): Promise<void> {
  const tmp = join(dir, `${SUMMARY_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(`${JSON.stringify({ count: s.count, bytes: s.bytes, oldest: s.oldest ?? null })}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, join(dir, SUMMARY_FILE));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/** Lists the queue's WAL files in WAL order (one readdir and a stat per file: O(n), only to rebuild or drain). */
export async function listQueue(dir: string): Promise<{ files: QueuedFile[]; others: string[] }> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { files: [], others: [] };
    throw err;
  }
  const files: QueuedFile[] = [];
  const others: string[] = [];
  for (const name of names) {
    if (!isWalName(name)) {
      others.push(name);
      continue;
    }
    const st = await fsp.lstat(join(dir, name)).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (st?.isFile()) files.push({ name, size: st.size, mtimeMs: st.mtimeMs });
  }
  files.sort((a, b) => compareWalNames(a.name, b.name));
  return { files, others };
}

/** The summary of a list of files in WAL order. */
export function summaryOf(files: readonly QueuedFile[]): Summary {
  return { count: files.length, bytes: files.reduce((n, f) => n + f.size, 0), oldest: files[0] };
}

/** Whether two summaries say the same (count, bytes and, when both know it, the oldest name). */
export function sameSummary(a: Summary, b: Summary): boolean {
  return a.count === b.count && a.bytes === b.bytes && (a.oldest === undefined || b.oldest === undefined || a.oldest.name === b.oldest.name);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
};

/** True when the lock in `dir` was left by a process that is gone (or held for longer than any change takes). */
export async function lockIsStale(dir: string, now = Date.now()): Promise<boolean> {
  let text: string;
  try {
    const fh = await fsp.open(join(dir, LOCK_FILE), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
  const [pid, since] = text.trim().split(' ').map(Number);
  // A lock whose content is not written yet (or garbage) is judged by its age alone.
  if (!Number.isSafeInteger(pid) || !Number.isFinite(since)) {
    const st = await fsp.lstat(join(dir, LOCK_FILE)).catch(() => undefined);
    return st !== undefined && now - st.mtimeMs > LOCK_STALE_MS;
  }
  return pid === process.pid ? false : !alive(pid!) || now - since! > LOCK_STALE_MS;
}

/**
 * Runs `fn` holding the queue lock of `dir`; `fn` learns whether the previous holder died with
 * it (then the summary may be wrong: rebuild). Throws QUEUE_LOCKED when a live holder keeps it
 * longer than two minutes.
 */
export async function withQueueLock<T>(dir: string, fn: (previousHolderDied: boolean) => Promise<T>): Promise<T> {
  const lock = join(dir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let died = false;
  let waitMs = 1;
  for (;;) {
    // Temp file + link(2): the lock appears with its content, or not at all.
    const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    await fsp.writeFile(tmp, `${process.pid} ${Date.now()}\n`, { mode: 0o600, flag: 'wx' });
    try {
      await fsp.link(tmp, lock);
      break;
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    if (await lockIsStale(dir)) {
      // rename(2) to a private name: of several processes breaking it, one wins.
      const mine = join(dir, `${LOCK_FILE}.broken.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      if (
        await fsp.rename(lock, mine).then(
          () => true,
          () => false,
        )
      ) {
        await fsp.rm(mine, { force: true });
        died = true;
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new PitrError('QUEUE_LOCKED', `the queue ${dir} stayed locked (${lock}) for ${LOCK_WAIT_MS / 1000} s by a running process`, {
        hint: `see which process holds it (pid in ${lock}); remove ${lock} only if that process is gone`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    waitMs = Math.min(50, waitMs * 2);
  }
  try {
    return await fn(died);
  } finally {
    await fsp.rm(lock, { force: true });
  }
}

/** Rebuilds the summary from the directory (caller holds the lock); returns it. */
export async function rebuildSummary(dir: string): Promise<Summary> {
  const s = summaryOf((await listQueue(dir)).files);
  await writeSummary(dir, s);
  return s;
}

/**
 * Applies a change to the queue's files and its summary under the lock: `change` gets the current
 * summary (rebuilt first when missing or when the last holder died) and returns the new one.
 */
export async function changeQueue<T>(dir: string, change: (s: Summary) => Promise<{ summary: Summary; result: T }>): Promise<T> {
  return withQueueLock(dir, async (died) => {
    const before = died ? undefined : await readSummary(dir);
    const current = before ?? (await rebuildSummary(dir));
    const { summary, result } = await change(current);
    if (summary !== current) await writeSummary(dir, summary);
    return result;
  });
}

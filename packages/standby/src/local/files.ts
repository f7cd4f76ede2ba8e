/**
 * The standby's small local files and directories: the state files in pgdata (state-files.ts names
 * them), archivedir listings and removals, signal files, and the directories -I creates.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@pitrtools/core/fs/atomic';
import { checkOwnDir, writeOwnFile } from '@pitrtools/core/fs/ownership';
import { CHECK_STATE, REPLAYED_STATE, RESTORED_STATE } from '../state-files.js';
import { nodeCleanupFs } from '../restore/node-cleanup-fs.js';
import type { CleanupFs } from '../restore/ports.js';

/** Remembers the newest restored segment (its mtime says when); best effort, never fsynced. */
export async function recordRestored(pgdata: string, segment: string): Promise<void> {
  await writeOwnFile(join(pgdata, RESTORED_STATE), `${segment}\n`).catch(() => undefined); // never through a link
}

/** The newest restored segment and how many seconds ago, if any was. */
export async function restoredInfo(pgdata: string): Promise<{ segment?: string; ageSec: number } | undefined> {
  const path = join(pgdata, RESTORED_STATE);
  const st = await fsp.stat(path).catch(() => undefined);
  if (!st) return undefined;
  const segment = (await fsp.readFile(path, 'utf8').catch(() => '')).trim();
  return { ...(segment ? { segment } : {}), ageSec: Math.max(0, (Date.now() - st.mtimeMs) / 1000) };
}

/** Saves (a Date) or forgets (null) the last replayed transaction time of a stopped standby. */
export async function recordReplayed(pgdata: string, at: Date | null): Promise<void> {
  const path = join(pgdata, REPLAYED_STATE);
  if (at === null) await fsp.rm(path, { force: true });
  else await writeOwnFile(path, `${at.toISOString()}\n`); // a link there: SYMLINK_REFUSED
}

/** The recorded last replayed transaction time, if any. */
export async function readReplayed(pgdata: string): Promise<{ text: string; epochMs: number } | undefined> {
  const text = (await fsp.readFile(join(pgdata, REPLAYED_STATE), 'utf8').catch(() => '')).trim();
  const epochMs = Date.parse(text);
  return text && !Number.isNaN(epochMs) ? { text, epochMs } : undefined;
}

/** True when pgdata holds `<which>.signal`. */
export async function hasSignal(pgdata: string, which: 'standby' | 'recovery'): Promise<boolean> {
  return fsp.access(join(pgdata, `${which}.signal`)).then(
    () => true,
    () => false,
  );
}

/** Names in archivedir. */
export async function listArchive(archivedir: string): Promise<string[]> {
  return fsp.readdir(archivedir);
}

/**
 * Removes names from archivedir (already gone is fine), then fsyncs it; on an error (EIO, EACCES)
 * the removals done so far are fsynced too before the error is thrown, so a crash cannot bring
 * back files the caller was told about. `fs` is the disk (a fake in unit tests).
 */
export async function removeArchived(archivedir: string, names: readonly string[], fs: CleanupFs = nodeCleanupFs): Promise<void> {
  try {
    for (const name of names) await fs.unlink(join(archivedir, name));
  } catch (err) {
    await fs.fsyncDir(archivedir).catch(() => undefined); // the unlink's error is the one to report
    throw err;
  }
  if (names.length > 0) await fs.fsyncDir(archivedir);
}

/** Total size of the files in archivedir. */
export async function archiveSize(archivedir: string): Promise<number> {
  let total = 0;
  for (const e of await fsp.readdir(archivedir, { withFileTypes: true })) {
    if (e.isFile()) total += (await fsp.stat(join(archivedir, e.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/**
 * Creates a directory (and parents) 0700; returns whether it existed. One that is a link or
 * another user's is refused (DIR_NOT_PRIVATE, exit 2, before any chmod); one of ours is made 0700.
 */
export async function makePrivateDir(dir: string, what: string): Promise<{ existed: boolean; warning?: string }> {
  const st = await fsp.lstat(dir).catch(() => undefined);
  const existed = st !== undefined;
  if (st !== undefined && (st.isSymbolicLink() || st.uid !== process.geteuid?.())) await checkOwnDir(dir, what);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const mode = (await fsp.stat(dir)).mode & 0o777;
  if (mode !== 0o700) {
    const fixed = await fsp.chmod(dir, 0o700).then(
      () => true,
      () => false,
    );
    if (!fixed) return { existed, warning: `${dir} has mode ${mode.toString(8)} and cannot be changed to 0700 by this user` };
  }
  await checkOwnDir(dir, what);
  return { existed };
}

/** --check's state file text, or undefined. */
export async function readCheckState(pgdata: string): Promise<string | undefined> {
  return fsp.readFile(join(pgdata, CHECK_STATE), 'utf8').catch(() => undefined);
}

/** Saves --check's state (temp, fsync, rename); throws when pgdata is not writable for this user. */
export async function writeCheckState(pgdata: string, text: string): Promise<void> {
  await writeFileAtomic(join(pgdata, CHECK_STATE), text);
}

/** The last `bytes` of a file as text (from a line start), or undefined when it cannot be read. */
export async function readTail(path: string, bytes = 64 * 1024): Promise<string | undefined> {
  let fh;
  try {
    fh = await fsp.open(path, 'r');
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

/**
 * The local side of -B: what is in a directory, making and emptying directories, tablespace
 * symlinks, and the final fsync of every file and directory (as initdb --sync-only and
 * pg_basebackup do). Received files are written by incoming-file.ts.
 */
import { promises as fsp, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';

/** One local directory entry. */
export interface LocalEntry {
  isFile: boolean;
  isDir: boolean;
  isSymlink: boolean;
  size: number;
  /**
   * Seconds, with the fraction the filesystem keeps. -B sets a copied file's mtime to the
   * master's whole second, so only a file nobody has written since has a whole number here: a
   * file the local server wrote (a promoted copy) in the same second as the master's version
   * has a fraction, and so never passes for unchanged (size + whole-second mtime alone did, and
   * a second -B kept a stale pg_class: a corrupt catalog).
   */
  mtime: number;
}

/** Entries of a local directory (lstat); an absent directory is empty. */
export async function listLocal(dir: string): Promise<Map<string, LocalEntry>> {
  const out = new Map<string, LocalEntry>();
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return out;
    throw err;
  }
  return statAll(dir, names);
}

async function statAll(dir: string, names: readonly string[]): Promise<Map<string, LocalEntry>> {
  const out = new Map<string, LocalEntry>();
  // All at once: a second -B lstats every file of the copy, and these go to libuv's threads.
  const stats = await Promise.all(names.map((name) => fsp.lstat(join(dir, name)).catch(() => undefined)));
  names.forEach((name, i) => {
    const st = stats[i];
    if (st) out.set(name, toEntry(st));
  });
  return out;
}

function toEntry(st: Stats): LocalEntry {
  return { isFile: st.isFile(), isDir: st.isDirectory(), isSymlink: st.isSymbolicLink(), size: st.size, mtime: st.mtimeMs / 1000 };
}

/** A local directory as it was before the walk wrote into it, holding at most `hold` entries. */
export interface LocalView {
  /** Entries held in memory. */
  readonly held: number;
  /** The entry of `name` (lstat), undefined when absent. */
  get(name: string): Promise<LocalEntry | undefined>;
  /** Every entry (a big directory: read again, so it may include what was written since). */
  before(): AsyncIterable<[string, LocalEntry]>;
}

/**
 * `dir` with up to `hold` entries held (one lstat each, in parallel); a bigger one is looked up
 * name by name and read again with opendir when asked for all, so nothing grows with its size.
 * An absent directory is empty.
 */
export async function localView(dir: string, hold: number): Promise<LocalView> {
  const names: string[] = [];
  let big = false;
  try {
    for await (const e of await fsp.opendir(dir)) {
      if (names.length >= hold) {
        big = true;
        break;
      }
      names.push(e.name);
    }
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
  if (!big) {
    const map = await statAll(dir, names);
    // The interface is async; this small listing is in memory.
    return {
      held: map.size,
      get: (name) => Promise.resolve(map.get(name)),
      // eslint-disable-next-line @typescript-eslint/require-await -- an async generator over an in-memory map
      before: async function* () {
        yield* map;
      },
    };
  }
  const one = (name: string): Promise<LocalEntry | undefined> => fsp.lstat(join(dir, name)).then(toEntry, ignoreVanished);
  return {
    held: 0,
    get: one,
    async *before() {
      for await (const e of await fsp.opendir(dir)) {
        const st = await one(e.name);
        if (st) yield [e.name, st];
      }
    },
  };
}

/** mkdir -p with mode 0700 for what it creates; an existing symlink to a directory is fine. */
export async function ensureDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
}

/** rm -rf. */
export async function removePath(path: string): Promise<void> {
  await fsp.rm(path, { recursive: true, force: true });
}

/** Makes `link` a symlink to `target`, replacing whatever is there. */
export async function ensureSymlink(link: string, target: string): Promise<void> {
  const cur = await fsp.readlink(link).catch(() => undefined);
  if (cur === target) return;
  await removePath(link);
  await fsp.symlink(target, link);
}

/** Writes a small file and fsyncs it (backup_label, tablespace_map, the marker). */
export async function writeSynced(path: string, data: string | Buffer): Promise<void> {
  const fh = await fsp.open(path, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsyncs every directory below `root` (symlinks not followed, deepest first) and the regular
 * files for which `syncFile(rel)` says true (rel: relative to root, '/'-separated); files
 * received or kept by -B were fsynced already. Walks one directory at a time (opendir), so
 * nothing grows with the number of files. Returns how many files it fsynced.
 */
export async function fsyncTree(root: string, syncFile: (rel: string) => boolean, parallel = 16): Promise<number> {
  let files = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    const batch: string[] = [];
    for await (const e of await fsp.opendir(dir)) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(join(dir, e.name), r);
      else if (e.isFile() && syncFile(r)) batch.push(join(dir, e.name));
      if (batch.length >= parallel) files += await fsyncFiles(batch.splice(0), parallel);
    }
    files += await fsyncFiles(batch, parallel);
    await fsyncDir(dir);
  };
  await walk(root, '');
  return files;
}

/** fsyncs `paths` (regular files), `parallel` at a time; a file gone meanwhile is skipped. Returns how many. */
export async function fsyncFiles(paths: readonly string[], parallel = 16): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const fh = await fsp.open(paths[next++]!, 'r').catch(ignoreVanished);
      if (!fh) continue;
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, paths.length) }, worker));
  return paths.length;
}

function ignoreVanished(err: unknown): undefined {
  if (errorCode(err) !== 'ENOENT') throw err;
  return undefined;
}

/**
 * --restore-backup LABEL [--into DIR] (walmgr's `restore <set> <dst>`): copies a set of the
 * catalogue into pgdata or DIR, which must be empty; the set itself is never moved or changed.
 * Tablespaces (pg_tblspc/<oid>/ inside the set) go to their location on the source, or where
 * tablespace_mapping maps it, linked from pg_tblspc/<oid>, with tablespace_map rewritten to
 * match, as -B does. The copy carries the incomplete marker until everything is copied and
 * fsynced; then it is a cold copy like -B's: -S starts it, -F999 -R recovers it to a time.
 */
import { constants, promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PitrError, errorCode } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';
import { ensureDir, ensureSymlink, fsyncTree, removePath, writeSynced } from '../basebackup/local-tree.js';
import { Progress } from '../basebackup/progress.js';
import { localLocation, parseMappings, readTablespaceMap, rewriteTablespaceMap } from '../basebackup/tablespaces.js';
import { listSets, setDataDir, type BackupSetMeta } from '../catalogue/sets.js';
import type { Ctx } from '../context.js';
import { refuseIfRunning } from '../local/server.js';
import { INCOMPLETE_MARKER } from '../state-files.js';
import { catalogueDir } from './backup-set.js';
import { noSuchBackup } from './verify-backup.js';

/** Options of --restore-backup. */
export interface RestoreBackupOptions {
  label: string;
  /** The directory to restore into; default pgdata. */
  into?: string | undefined;
}

/** What --restore-backup did. */
export interface RestoreBackupResult {
  set: BackupSetMeta;
  dir: string;
  files: number;
  bytes: number;
  elapsedMs: number;
}

/** Top-level files of a set that a restored copy does not get (PostgreSQL does not read them). */
const NOT_RESTORED = new Set(['backup_manifest', 'tablespace_map']);

/** Restores a set; throws NO_SUCH_BACKUP, RESTORE_TARGET_NOT_EMPTY, BAD_TABLESPACE_MAPPING (exit 1) before anything is written. */
export async function restoreBackup(ctx: Ctx, o: RestoreBackupOptions): Promise<RestoreBackupResult> {
  const t0 = Date.now();
  const full = catalogueDir(ctx);
  const sets = await listSets(full);
  const set = sets.find((s) => s.label === o.label);
  if (!set) throw noSuchBackup(full, o.label, sets);
  const dir = resolve(o.into ?? ctx.config.pgdata);
  await refuseIfRunning(dir, `restore backup set ${set.label} into ${dir}`);
  await requireEmpty(dir);
  const src = setDataDir(full, set.label);
  const spcmap = await fsp.readFile(join(src, 'tablespace_map'), 'utf8').catch(() => '');
  const mappings = parseMappings(ctx.config.tablespace_mapping ?? []);
  const tablespaces = readTablespaceMap(spcmap).map((t) => ({ oid: t.oid, dest: localLocation(t.location, mappings) }));
  for (const ts of tablespaces) {
    if (ts.dest === dir || ts.dest.startsWith(`${dir}/`)) {
      throw new PitrError('BAD_TABLESPACE_MAPPING', `tablespace ${ts.oid} would go to ${ts.dest}, inside ${dir}; map it elsewhere (tablespace_mapping)`);
    }
    await requireEmpty(ts.dest);
  }

  await ensureDir(dir);
  await fsp.chmod(dir, 0o700);
  await fsyncDir(dirname(dir));
  await writeSynced(join(dir, INCOMPLETE_MARKER), `restoring backup set ${set.label}\n`);
  await fsyncDir(dir);
  const progress = new Progress(ctx.progress, set.bytes);
  const count = { files: 0, bytes: 0, progress };
  const skipTop = (rel: string): boolean => NOT_RESTORED.has(rel) || tablespaces.some((t) => rel === `pg_tblspc/${t.oid}`);
  try {
    await copyTree(src, dir, skipTop, count);
    for (const ts of tablespaces) {
      await ensureDir(ts.dest);
      await copyTree(join(src, 'pg_tblspc', ts.oid), ts.dest, () => false, count);
      await ensureSymlink(join(dir, 'pg_tblspc', ts.oid), ts.dest);
      await fsyncTree(ts.dest, () => true);
    }
  } finally {
    progress.end();
  }
  // PostgreSQL recreates the pg_tblspc links from tablespace_map at start-up: it must name the local locations.
  if (spcmap !== '') await writeSynced(join(dir, 'tablespace_map'), rewriteTablespaceMap(spcmap, mappings));
  await fsyncTree(dir, () => true);
  await removePath(join(dir, INCOMPLETE_MARKER));
  await fsyncDir(dir);
  const elapsedMs = Date.now() - t0;
  return { set, dir, files: count.files, bytes: count.bytes, elapsedMs };
}

/** Refuses (exit 1) a directory that exists and holds anything. */
async function requireEmpty(dir: string): Promise<void> {
  const names = await fsp.readdir(dir).catch((err: unknown) => {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  });
  if (names.length > 0) {
    throw new PitrError('RESTORE_TARGET_NOT_EMPTY', `${dir} is not empty: --restore-backup copies a set only into an empty directory`, {
      hint: `move it aside (mv ${dir} ${dir}.old) or restore into another directory with --into DIR`,
    });
  }
}

/**
 * Copies the regular files and directories below `from` into `to` (copy-on-write clones where the
 * filesystem has them), with the set's mtimes (so a later -B over the copy skips unchanged files),
 * files 0600 and directories 0700. Symlinks are not followed.
 */
async function copyTree(
  from: string,
  to: string,
  skip: (rel: string) => boolean,
  count: { files: number; bytes: number; progress: Progress },
  rel = '',
): Promise<void> {
  for (const e of await fsp.readdir(from, { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (skip(r)) continue;
    const s = join(from, e.name);
    const d = join(to, e.name);
    if (e.isDirectory()) {
      await ensureDir(d);
      await copyTree(s, d, skip, count, r);
    } else if (e.isFile()) {
      await fsp.copyFile(s, d, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      const st = await fsp.stat(s);
      await fsp.chmod(d, 0o600);
      await fsp.utimes(d, st.atime, st.mtime);
      count.files++;
      count.bytes += st.size;
      count.progress.add(st.size);
    }
  }
}

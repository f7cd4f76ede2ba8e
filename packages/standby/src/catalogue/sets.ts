/**
 * The backup catalogue on disk (full_backup): one directory per set, named by its label, the
 * backup's start in UTC (20261130T163000Z; sortable, so the oldest sorts first), with
 *   <label>/data/          the data directory as the source had it (tablespaces inside, as
 *                          pg_tblspc/<oid>/), with backup_label, tablespace_map, backup_manifest
 *   <label>/backup.json    what --list-backups shows: LSNs, times, timeline, size, source, verified
 * A set is built as .<label>.partial and renamed to <label> only when complete, so a directory
 * with a label's name and a backup.json is a complete set, and nothing else counts as one.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '@pitrtools/core/errors';
import { writeFileAtomic } from '@pitrtools/core/fs/atomic';

/** What a set records about itself (backup.json). */
export interface BackupSetMeta {
  label: string;
  start_lsn: string;
  stop_lsn: string;
  /** The source's clock just after the start / just after the stop (ISO 8601, UTC). */
  start_time: string;
  stop_time: string;
  timeline: number;
  /** The first segment the set needs (on its timeline): the catalogue keeps it and everything after. */
  start_wal: string;
  stop_wal: string;
  wal_segment_size: number;
  /** Bytes of the data directory as stored (files only). */
  bytes: number;
  files: number;
  duration_ms: number;
  /** pg_is_in_recovery() on the source at the start. */
  source: 'master' | 'standby';
  source_host: string;
  server_version_num: number;
  system_identifier: string;
  /** Set by --verify-backup: when, and whether pg_verifybackup passed. */
  verified?: { at: string; ok: boolean; detail: string };
}

/** A set's label: the start as YYYYMMDDTHHMMSSZ (UTC). */
export function setLabel(startIso: string): string {
  return startIso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** A complete set's label: 20261130T163000Z, with _2, _3 ... when two started in the same second. */
export const LABEL_RE = /^\d{8}T\d{6}Z(?:_\d+)?$/;

/** The data directory of a set. */
export function setDataDir(fullBackup: string, label: string): string {
  return join(fullBackup, label, 'data');
}

/** Where a set is built until it is complete. */
export function partialDir(fullBackup: string, label: string): string {
  return join(fullBackup, `.${label}.partial`);
}

/** The metadata file of a set. */
export function metaPath(fullBackup: string, label: string): string {
  return join(fullBackup, label, 'backup.json');
}

/** Writes backup.json atomically (temp, fsync, rename, fsync the directory). */
export async function writeMeta(dir: string, meta: BackupSetMeta): Promise<void> {
  await writeFileAtomic(join(dir, 'backup.json'), `${JSON.stringify(meta, null, 2)}\n`);
}

/** The complete sets of the catalogue, oldest first; a missing catalogue has none. Directories without a readable backup.json are not sets. */
export async function listSets(fullBackup: string): Promise<BackupSetMeta[]> {
  let names: string[];
  try {
    names = await fsp.readdir(fullBackup);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
  const out: BackupSetMeta[] = [];
  for (const name of names.filter((n) => LABEL_RE.test(n)).sort()) {
    const meta = await readMeta(fullBackup, name);
    if (meta) out.push(meta);
  }
  return out;
}

/** A set's backup.json, or undefined when absent or unreadable. */
export async function readMeta(fullBackup: string, label: string): Promise<BackupSetMeta | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(metaPath(fullBackup, label), 'utf8')) as BackupSetMeta;
    return typeof m.start_wal === 'string' && typeof m.start_lsn === 'string' ? { ...m, label } : undefined;
  } catch {
    return undefined;
  }
}

/** A label not yet taken in the catalogue (a suffix _2, _3 ... for a second backup started in the same second). */
export async function freeLabel(fullBackup: string, base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const label = i === 1 ? base : `${base}_${i}`;
    const taken = await Promise.all(
      [fsp.access(join(fullBackup, label)), fsp.access(partialDir(fullBackup, label))].map((p) =>
        p.then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!taken.some(Boolean)) return label;
  }
}

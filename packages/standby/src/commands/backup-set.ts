/**
 * --backup: a base backup of the master into the catalogue (full_backup) instead of pgdata, with
 * -B's engine (same non-exclusive backup, copy and fsync discipline). The set is built as a
 * .partial directory and renamed to its label only when complete, with its backup_manifest and
 * backup.json; only then, and only when archivedir holds the WAL the new set needs, does
 * keep_backups remove the oldest sets and the archived WAL no kept set needs. A backup that fails,
 * or is interrupted (SIGINT, SIGTERM), removes its .partial directory and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';
import { walNameForLsn } from '@pitrtools/core/wal';
import { humanBytes } from '@pitrtools/core/bytes';
import { Progress, formatDuration } from '../basebackup/progress.js';
import { writeManifest } from '../catalogue/manifest-files.js';
import { copyNeedsFrom } from '../catalogue/copy-floor.js';
import { hasNeededWal, segmentNames } from '../catalogue/recoverable.js';
import { lowerCutoff, setsBeyond, walBelowFloor, walFloor } from '../catalogue/retention.js';
import { freeLabel, listSets, setLabel, writeMeta, type BackupSetMeta } from '../catalogue/sets.js';
import type { Ctx } from '../context.js';
import { listArchive, makePrivateDir, removeArchived } from '../local/files.js';
import { basebackup, type BasebackupOptions, type BasebackupResult } from './basebackup.js';

/** What --backup did. */
export interface BackupSetResult extends RetentionResult {
  meta: BackupSetMeta;
  /** The catalogue directory (full_backup). */
  dir: string;
  /** The copy's figures, as -B reports them. */
  copy: BasebackupResult;
  /**
   * archivedir holds the WAL from the set's start to its stop segment when --backup ended
   * (catalogue/recoverable.ts hasNeededWal): without it the set cannot be restored, and
   * keep_backups removed nothing (retention.skipped says why).
   */
  walComplete: boolean;
}

/** What keep_backups removed after a set was completed. */
export interface RetentionResult {
  keepBackups: number;
  /** Labels of the sets keep_backups removed. */
  removedSets: string[];
  /** Archived WAL files removed because no kept set needs them. */
  removedWal: string[];
  /** The oldest archived WAL kept, and who needs it: the oldest kept set (`set`), else the copy in pgdata (`pgdata`). */
  keptFrom?: { wal: string; set?: string; pgdata?: string };
  /** Why keep_backups removed nothing this time (a new set that cannot be restored yet must not push out one that can). */
  skipped?: string;
}

/** The catalogue directory, or USAGE (exit 2) when full_backup is not set. */
export function catalogueDir(ctx: Ctx): string {
  const dir = ctx.config.full_backup;
  if (dir === undefined || dir === '') {
    throw new PitrError('NO_FULL_BACKUP', 'full_backup is not set in the ini file: the backup catalogue has no directory', {
      hint: 'add full_backup: /var/lib/postgresql/backups (a directory of this user) to cmd_standby.ini',
    });
  }
  return dir;
}

/** The START TIMELINE of a backup_label (PostgreSQL 11+ writes it). */
export function labelTimeline(labelfile: string): number {
  const m = /^START TIMELINE: (\d+)$/m.exec(labelfile);
  if (!m) throw new PitrError('BAD_BACKUP_LABEL', 'backup_label from pg_backup_stop has no START TIMELINE line');
  return Number(m[1]);
}

/** Options of backupSet. */
export interface BackupSetOptions extends Pick<BasebackupOptions, 'onFile'> {
  /** Called with the .partial directory before anything is written in it (an interrupt removes it: backupInterrupted). */
  onPartial?: (partial: string) => void;
}

/**
 * Removes a set's .partial directory: the copy's last writes may still land while it unwinds (a
 * cut connection, copy threads told to stop), so it retries for up to ~3 s until the name is gone.
 */
async function removePartial(partial: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await fsp.rm(partial, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => undefined);
    if (
      !(await fsp.lstat(partial).then(
        () => true,
        () => false,
      ))
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The error --backup ends with after `signal` (SIGINT: INTERRUPTED, SIGTERM: TERMINATED; exit 130
 * or 143, basebackup-interrupt.ts): its .partial directory, when it made one, is removed first,
 * as a failed --backup's is.
 */
export async function backupInterrupted(signal: 'SIGINT' | 'SIGTERM', full: string, partial: string | undefined): Promise<PitrError> {
  if (partial !== undefined) await removePartial(partial);
  return new PitrError(
    signal === 'SIGINT' ? 'INTERRUPTED' : 'TERMINATED',
    `--backup interrupted by ${signal}: ${partial !== undefined ? `its partial copy ${partial} was removed; ` : ''}` +
      'the master ends its backup when our connection closes',
    { hint: `no set was added to ${full} and none was removed; run --backup again` },
  );
}

/** Runs --backup; throws BACKUP_FAILED (exit 1) with the catalogue as it was, NO_FULL_BACKUP (exit 2) without full_backup. */
export async function backupSet(ctx: Ctx, o: BackupSetOptions = {}): Promise<BackupSetResult> {
  const full = catalogueDir(ctx);
  const made = await makePrivateDir(full, 'full_backup');
  if (made.warning) ctx.log.warning(made.warning);
  const partial = join(full, `.${randomBytes(6).toString('hex')}.partial`);
  o.onPartial?.(partial);
  const dataDir = join(partial, 'data');
  let meta: BackupSetMeta;
  let r: BasebackupResult;
  try {
    await fsp.mkdir(partial, { mode: 0o700 });
    r = await basebackup(ctx, { ...(o.onFile ? { onFile: o.onFile } : {}), into: { dataDir } });
    const t0 = Date.now();
    const timeline = labelTimeline(r.labelfile);
    let hashed = 0;
    const progress = new Progress(ctx.progress, () => Math.max(r.bytes, hashed));
    const header = {
      versionNum: r.source.versionNum,
      systemIdentifier: r.source.systemIdentifier,
      walRanges: [{ timeline, startLsn: r.startLsn, endLsn: r.stopLsn }],
    };
    const { files, bytes } = await writeManifest(dataDir, header, join(dataDir, 'backup_manifest'), 4, (n) => {
      hashed += n;
      progress.add(n);
    }).finally(() => progress.end());
    ctx.log.info(`backup_manifest: ${files} files (${humanBytes(bytes)}) hashed in ${formatDuration(Date.now() - t0)}`);
    const label = await freeLabel(full, setLabel(r.startedAt));
    meta = {
      label,
      start_lsn: r.startLsn,
      stop_lsn: r.stopLsn,
      start_time: r.startedAt,
      stop_time: r.stoppedAt,
      timeline,
      start_wal: walNameForLsn(r.startLsn, timeline, r.source.walSegmentSize),
      stop_wal: walNameForLsn(r.stopLsn, timeline, r.source.walSegmentSize),
      wal_segment_size: r.source.walSegmentSize,
      bytes,
      files,
      duration_ms: r.elapsedMs,
      source: r.source.inRecovery ? 'standby' : 'master',
      source_host: ctx.config.master_public_ip,
      server_version_num: r.source.versionNum,
      system_identifier: r.source.systemIdentifier,
    };
    await writeMeta(partial, meta);
    await fsyncDir(dataDir);
    await fsp.rename(partial, join(full, label));
    await fsyncDir(full);
  } catch (err) {
    await removePartial(partial);
    throw new PitrError('BACKUP_FAILED', `--backup failed: ${errorMessage(err).replace(/^base backup failed: /, '')}`, {
      cause: err,
      hint: `no set was added to ${full} and none was removed; run --backup again`,
    });
  }
  // The WAL from start to stop reaches archivedir through the master's archive_command (pg_backup_stop
  // waited for the stop segment's): without it (archive_mode off, this standby not among the slaves,
  // its queue not drained yet) the set cannot be restored, and must not push out one that can.
  const archived = await listArchive(ctx.config.archivedir).catch((): string[] => []);
  const walComplete = hasNeededWal(meta, segmentNames(archived));
  if (!walComplete) {
    ctx.log.warning(
      `${ctx.config.archivedir} does not hold the WAL set ${meta.label} needs (${meta.start_wal} to ${meta.stop_wal}): it cannot be restored until it does, ` +
        'and keep_backups removed nothing; is archive_mode on on the master, with this standby among its slaves? (--list-backups shows when the set is complete)',
    );
  }
  const retention: RetentionResult = walComplete
    ? await applyRetention(ctx, full, archived)
    : {
        keepBackups: ctx.config.keep_backups,
        removedSets: [],
        removedWal: [],
        skipped: `set ${meta.label} cannot be restored until ${ctx.config.archivedir} holds its WAL`,
      };
  return { meta, dir: full, copy: r, walComplete, ...retention };
}

/**
 * keep_backups after a completed set: the oldest sets beyond it go, then the archived WAL that neither a kept set nor the
 * copy in pgdata needs. `archived`: archivedir's names when the caller has just listed it (else it is listed here).
 */
export async function applyRetention(ctx: Ctx, full: string, archived?: readonly string[]): Promise<RetentionResult> {
  const sets = await listSets(full);
  const victims = setsBeyond(sets, ctx.config.keep_backups);
  for (const v of victims) {
    // Renamed out of the sets' name space first: a removal cut short leaves no half set that counts.
    const gone = join(full, `.${v.label}.removing`);
    await fsp.rename(join(full, v.label), gone);
    await fsyncDir(full);
    await fsp.rm(gone, { recursive: true, force: true });
  }
  const kept = sets.filter((s) => !victims.includes(s));
  const setsFloor = walFloor(kept);
  // Nor what the standby's own copy in pgdata still needs (a cold copy not yet started, or one lagging behind).
  const copyNeeds = kept.length ? await copyNeedsFrom(ctx.config.pgdata, kept[0]!.wal_segment_size) : undefined;
  const floor = setsFloor === undefined ? undefined : lowerCutoff(setsFloor, copyNeeds?.slice(8, 24));
  const removedWal = floor === undefined ? [] : walBelowFloor(archived ?? (await listArchive(ctx.config.archivedir)), floor).sort();
  await removeArchived(ctx.config.archivedir, removedWal);
  const oldest = kept.find((s) => s.start_wal.slice(8, 24) === floor);
  const keptFrom = oldest ? { wal: oldest.start_wal, set: oldest.label } : copyNeeds !== undefined ? { wal: copyNeeds, pgdata: ctx.config.pgdata } : undefined;
  return { keepBackups: ctx.config.keep_backups, removedSets: victims.map((v) => v.label), removedWal, ...(keptFrom ? { keptFrom } : {}) };
}

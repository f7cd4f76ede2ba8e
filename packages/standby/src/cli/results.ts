/**
 * The lines cmd_standby prints on stdout for each command's result: the commands return data
 * (commands/*.ts), this file turns it into the words people read; --json prints the data itself.
 * The only place the result lines are worded (e2e tests match them).
 */
import { humanBytes } from '@pitrtools/core/bytes';
import { formatDuration } from '../basebackup/progress.js';
import type { BackupSetResult } from '../commands/backup-set.js';
import type { BasebackupResult } from '../commands/basebackup.js';
import type { FailoverResult } from '../commands/failover.js';
import type { FollowResult } from '../commands/follow.js';
import type { InitResult } from '../commands/init.js';
import type { InstallHelpersResult } from '../commands/install-helpers.js';
import type { PitrResult } from '../commands/pitr.js';
import type { RejoinResult } from '../commands/rejoin.js';
import type { RestoreBackupResult } from '../commands/restore-backup.js';
import type { StandbyResult } from '../commands/standby.js';
import type { SwitchoverResult } from '../commands/switchover.js';
import type { VerifyOutcome } from '../commands/verify-backup.js';
import { pitrDoneLine } from '../recovery/pitr-report.js';

/**
 * -B's last lines: what was copied (file bytes, not network bytes: the block sender's own line says
 * what crossed), skipped and removed, and the WAL range the copy needs.
 */
export function basebackupLines(r: BasebackupResult): string[] {
  const lines = [
    `Base backup finished: copied ${r.copied} files (${humanBytes(r.bytes)} of file data) in ${formatDuration(r.elapsedMs)}, ` +
      `skipped ${r.skipped} unchanged, removed ${r.removed} not on the master; WAL from ${r.startLsn} to ${r.stopLsn}`,
  ];
  // What the block sender saved: its bytes both ways against the bytes of the files it wrote.
  // "re-synced" only for files the standby already had (compared block by block).
  if (r.senderFiles > 0) {
    const resynced = r.resynced > 0 ? `, ${r.resynced} of them re-synced against the standby's copy` : '';
    lines.push(
      `block sender${r.compress !== 'none' ? ` (compress ${r.compress})` : ''}: ${humanBytes(r.wireBytes)} sent over SSH for ` +
        `${humanBytes(r.senderBytes)} of file data in ${r.senderFiles} files${resynced}`,
    );
  }
  if (r.staleTemps > 0) lines.push(`cleared ${r.staleTemps} temp files an interrupted -B had left`);
  return lines;
}

/** -I: each directory (created or already there), then the verdict. */
export function initLines(r: InitResult): string[] {
  return [...r.dirs.map((d) => `${d.existed ? 'exists ' : 'created'} ${d.dir}`), `Standby is ready (master runs PostgreSQL ${r.masterMajor})`];
}

/** -S. */
export function standbyLines(_r: StandbyResult): string[] {
  return ['Successfully entered standby mode'];
}

/** -F999 (without -R). */
export function failoverLines(r: FailoverResult): string[] {
  return [`Failover finished: read-write on timeline ${r.timeline}. Statistics are not replicated: run ANALYZE on your databases.`];
}

/** -F999 -R. */
export function pitrLines(r: PitrResult): string[] {
  return [pitrDoneLine({ target: r.target, lastReplayed: r.lastReplayedText, stoppedBefore: r.stoppedBefore })];
}

/** --follow. */
export function followLines(r: FollowResult): string[] {
  return [`Following the new master (${r.master}) on timeline ${r.timeline}, ${r.via === 'streaming' ? 'streaming' : 'restoring from archivedir'}.`];
}

/** --rejoin: the delta -B's line when it ran, then how the copy came over and whom it follows. */
export function rejoinLines(r: RejoinResult): string[] {
  return [
    ...(r.basebackup ? basebackupLines(r.basebackup) : []),
    `Rejoin finished: ${r.how}; started as a standby of ${r.master.host} (PostgreSQL port ${r.master.port})`,
  ];
}

/** --switchover. */
export function switchoverLines(r: SwitchoverResult): string[] {
  return [
    `Switchover finished: read-write on timeline ${r.timeline} after replaying past the old master's shutdown checkpoint ${r.shutdownCheckpoint}; the old master ${r.oldMaster} rejoined as a standby.`,
  ];
}

/** --install-helpers. */
export function installHelpersLines(r: InstallHelpersResult): string[] {
  return [`Installed the pitrtools helper functions (version ${r.version}) in database ${r.database} on the master`];
}

/** --backup: the copy's line, the set, then what keep_backups removed. */
export function backupSetLines(r: BackupSetResult): string[] {
  const m = r.meta;
  const lines = [
    ...basebackupLines(r.copy),
    `Backup set ${m.label} ${r.walComplete ? 'complete' : 'copied, NOT restorable until archivedir holds its WAL,'} in ${r.dir}: ${m.files} files, ${humanBytes(m.bytes)}, WAL ${m.start_wal} (${m.start_lsn}) to ${m.stop_lsn}, from the ${m.source} ${m.source_host}`,
    ...r.removedSets.map((label) => `Removed backup set ${label} (keep_backups ${r.keepBackups})`),
  ];

  if (r.removedWal.length > 0) {
    const k = r.keptFrom;
    const why = k?.set !== undefined ? `${k.wal}, where set ${k.set} starts` : `${k?.wal}, which the copy in ${k?.pgdata} needs`;
    lines.push(`Removed ${r.removedWal.length} archived WAL files older than ${why}`);
  }
  return lines;
}

/** --restore-backup. */
export function restoreBackupLines(r: RestoreBackupResult): string[] {
  return [
    `Restored backup set ${r.set.label} into ${r.dir}: ${r.files} files, ${humanBytes(r.bytes)} in ${formatDuration(r.elapsedMs)}; ` +
      'start it with -S, or recover it to a time with -F999 -R (its pgdata in the ini)',
  ];
}

/** --verify-backup: one line per set; `catalogue` names the directory when there was none. */
export function verifyLines(r: readonly VerifyOutcome[], catalogue: string): string[] {
  if (r.length === 0) return [`No backup sets in ${catalogue} to verify`];
  return r.map((x) => `${x.label}: ${x.ok ? 'verified' : 'FAILED'}: ${x.detail}`);
}

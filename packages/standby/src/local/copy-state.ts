/** Whether the data directory holds a complete copy that may be started. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { PitrError } from '@pitrtools/core/errors';
import { isDataDirectory } from '@pitrtools/core/pg/local-server';
import { backupLabelStart, backupLabelStartLsn, type StartBounds } from '../recovery/target-time.js';
import { BACKUP_STATE, INCOMPLETE_MARKER } from '../state-files.js';

/** Refuses (exit 1) when -B did not finish or never ran; `what` names the action, e.g. "start the standby (-S)". */
export async function requireCompleteCopy(pgdata: string, what: string): Promise<void> {
  const marker = join(pgdata, INCOMPLETE_MARKER);
  if (
    await fsp.access(marker).then(
      () => true,
      () => false,
    )
  ) {
    throw new PitrError('COPY_INCOMPLETE', `cannot ${what}: the base backup in ${pgdata} did not finish (${INCOMPLETE_MARKER} is there)`, {
      hint: 'run cmd_standby -C <ini> -B again until it reports "Base backup finished"',
    });
  }
  if (!(await isDataDirectory(pgdata))) {
    throw new PitrError('NO_COPY', `cannot ${what}: ${pgdata} holds no copy of the master (no PG_VERSION or global/pg_control)`, {
      hint: 'take one first: cmd_standby -C <ini> -B',
    });
  }
}

/** The backup_label of the copy, if -B left one that PostgreSQL has not consumed yet. */
export async function readBackupLabel(pgdata: string): Promise<string | undefined> {
  return fsp.readFile(join(pgdata, 'backup_label'), 'utf8').catch(() => undefined);
}

/** What -B records when it ends a backup: its start LSN and the master's clock just after the start (ISO 8601, UTC). */
export interface BackupRecord {
  startLsn: string;
  startedAt: string;
}

/** The text of pitrtools.backup. */
export function backupRecordText(r: BackupRecord): string {
  return `${JSON.stringify({ start_lsn: r.startLsn, started_at: r.startedAt })}\n`;
}

/** When the copy's backup started (earliest and latest possible instant) and where that came from. */
export interface CopyStart extends StartBounds {
  source: 'pitrtools.backup' | 'backup_label';
}

/**
 * When the copy's backup started: pitrtools.backup when its start LSN is that of backup_label (or
 * of backup_label.old, once PostgreSQL has read the label); else backup_label's START TIME, one
 * instant when its zone is UTC, GMT or numeric, else the range of every offset; else undefined.
 */
export async function copyStart(pgdata: string): Promise<CopyStart | undefined> {
  const label = await readBackupLabel(pgdata);
  const labelLsn = backupLabelStartLsn(label ?? (await fsp.readFile(join(pgdata, 'backup_label.old'), 'utf8').catch(() => '')));
  const record = parseRecord(await fsp.readFile(join(pgdata, BACKUP_STATE), 'utf8').catch(() => ''));
  if (record && labelLsn !== undefined && record.startLsn.toUpperCase() === labelLsn) {
    const at = Date.parse(record.startedAt);
    return { text: record.startedAt, earliestMs: at, latestMs: at, source: BACKUP_STATE };
  }
  const fromLabel = label !== undefined ? backupLabelStart(label) : undefined;
  return fromLabel ? { ...fromLabel, source: 'backup_label' } : undefined;
}

function parseRecord(text: string): BackupRecord | undefined {
  try {
    const j = JSON.parse(text) as { start_lsn?: unknown; started_at?: unknown };
    if (typeof j.start_lsn !== 'string' || typeof j.started_at !== 'string' || Number.isNaN(Date.parse(j.started_at))) return undefined;
    return { startLsn: j.start_lsn, startedAt: j.started_at };
  } catch {
    return undefined;
  }
}

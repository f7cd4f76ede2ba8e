/**
 * --list-backups: the sets of the catalogue, oldest first, with what each needs and how far it can
 * be recovered with the WAL now in archivedir (catalogue/recoverable.ts says exactly what that is).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { humanBytes } from '@pitrtools/core/bytes';
import { hasNeededWal, lastOfRun, segmentNames } from '../catalogue/recoverable.js';
import { listSets, type BackupSetMeta } from '../catalogue/sets.js';
import type { Ctx } from '../context.js';
import { listArchive } from '../local/files.js';
import { catalogueDir } from './backup-set.js';

/** One line of --list-backups (also its --json form). */
export interface BackupListing {
  label: string;
  start_lsn: string;
  stop_lsn: string;
  start_time: string;
  stop_time: string;
  timeline: number;
  bytes: number;
  duration_ms: number;
  source: 'master' | 'standby';
  source_host: string;
  verified: boolean | null;
  verified_at: string | null;
  /** The archive holds the WAL from the set's start to its stop. */
  wal_complete: boolean;
  /** Earliest recovery target: the stop time; null when the WAL to get there is missing. */
  recoverable_from: string | null;
  /** Latest: mtime of the last archived segment of the unbroken run from the start segment. */
  recoverable_to: string | null;
  path: string;
}

/** The catalogue's sets, oldest first, with their recoverable window; throws NO_FULL_BACKUP (exit 2) without full_backup. */
export async function listBackups(ctx: Ctx): Promise<BackupListing[]> {
  const full = catalogueDir(ctx);
  const sets = await listSets(full);
  const archived = segmentNames(await listArchive(ctx.config.archivedir).catch(() => []));
  const out: BackupListing[] = [];
  for (const s of sets) out.push(await listing(ctx, full, s, archived));
  return out;
}

async function listing(ctx: Ctx, full: string, s: BackupSetMeta, archived: ReadonlySet<string>): Promise<BackupListing> {
  const complete = hasNeededWal(s, archived);
  const last = complete ? lastOfRun(s, archived) : undefined;
  const lastAt =
    last === undefined
      ? undefined
      : await fsp.stat(join(ctx.config.archivedir, last)).then(
          (st) => st.mtime.toISOString(),
          () => undefined,
        );
  return {
    label: s.label,
    start_lsn: s.start_lsn,
    stop_lsn: s.stop_lsn,
    start_time: s.start_time,
    stop_time: s.stop_time,
    timeline: s.timeline,
    bytes: s.bytes,
    duration_ms: s.duration_ms,
    source: s.source,
    source_host: s.source_host,
    verified: s.verified ? s.verified.ok : null,
    verified_at: s.verified?.at ?? null,
    wal_complete: complete,
    recoverable_from: complete ? s.stop_time : null,
    recoverable_to: lastAt ?? null,
    path: join(full, s.label),
  };
}

/** The listing as a table for people. */
export function renderBackups(rows: readonly BackupListing[], full: string): string {
  if (rows.length === 0) return `No backup sets in ${full} (take one with cmd_standby -C <ini> --backup)`;
  const t = (iso: string | null): string => (iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
  const lines = rows.map((r) => [
    r.label,
    `${r.timeline}`,
    `${r.start_lsn}-${r.stop_lsn}`,
    humanBytes(r.bytes),
    `${(r.duration_ms / 1000).toFixed(0)}s`,
    r.source,
    r.verified === null ? 'no' : r.verified ? 'yes' : 'FAILED',
    r.wal_complete ? `${t(r.recoverable_from)} .. ${t(r.recoverable_to)}` : 'WAL missing',
  ]);
  const head = ['LABEL', 'TLI', 'LSN START-STOP', 'SIZE', 'TOOK', 'SOURCE', 'VERIFIED', 'RECOVERABLE (UTC)'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]): string => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [`Backup sets in ${full} (oldest first):`, fmt(head), ...lines.map(fmt)].join('\n');
}

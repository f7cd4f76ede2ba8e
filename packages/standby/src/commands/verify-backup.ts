/**
 * --verify-backup [LABEL]: pg_verifybackup of the set's major version on each set (or one),
 * with --wal-directory at archivedir, so it also proves that the WAL the set needs to become
 * consistent is in the archive and parses. The outcome is recorded in the set's backup.json.
 */
import { runProcess } from '@pitrtools/core/proc';
import { join } from 'node:path';
import { PitrError } from '@pitrtools/core/errors';
import { findPgTool } from '../catalogue/pg-tool.js';
import { listSets, setDataDir, writeMeta, type BackupSetMeta } from '../catalogue/sets.js';
import type { Ctx } from '../context.js';
import { catalogueDir } from './backup-set.js';
import { interruptRequested } from '../basebackup-interrupt.js';

/** One set's verification. */
export interface VerifyOutcome {
  label: string;
  ok: boolean;
  /** pg_verifybackup's last line (its verdict or its first complaint). */
  detail: string;
  output: string;
}

/**
 * Verifies every set (or `label`); returns one outcome per set; throws NO_SUCH_BACKUP (exit 1) for
 * an unknown label, INTERRUPTED when a SIGINT/SIGTERM stopped pg_verifybackup (nothing recorded for that set).
 */
export async function verifyBackups(ctx: Ctx, label?: string): Promise<VerifyOutcome[]> {
  const full = catalogueDir(ctx);
  const sets = await listSets(full);
  const chosen = label === undefined ? sets : sets.filter((s) => s.label === label);
  if (label !== undefined && chosen.length === 0) throw noSuchBackup(full, label, sets);
  const out: VerifyOutcome[] = [];
  for (const set of chosen) {
    const tool = findPgTool(ctx.config, 'pg_verifybackup', Math.floor(set.server_version_num / 10000));
    const r = await runProcess([tool, '--wal-directory', ctx.config.archivedir, setDataDir(full, set.label)], { timeoutMs: 6 * 3600_000 });
    // Stopped by our own SIGINT/SIGTERM (basebackup-interrupt.ts onInterrupt): no verdict to record.
    if (interruptRequested()) throw new PitrError('INTERRUPTED', `pg_verifybackup of set ${set.label} stopped`);
    const output = `${r.stdout}${r.stderr}`.trim();
    const ok = r.code === 0;
    const detail =
      output
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(ok ? -1 : 0)[0] ?? (r.spawnError ? String(r.spawnError.message) : `exit ${r.code}`);
    await writeMeta(join(full, set.label), { ...set, verified: { at: new Date().toISOString(), ok, detail } });
    out.push({ label: set.label, ok, detail, output });
  }
  return out;
}

/** The error for a label the catalogue does not hold, naming those it does. */
export function noSuchBackup(full: string, label: string, sets: readonly BackupSetMeta[]): PitrError {
  return new PitrError('NO_SUCH_BACKUP', `no backup set ${label} in ${full}`, {
    hint: sets.length ? `the sets are: ${sets.map((s) => s.label).join(', ')} (cmd_standby --list-backups)` : 'the catalogue is empty: take one with --backup',
  });
}

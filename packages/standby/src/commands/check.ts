/**
 * --check: a Nagios plugin for the standby. Measures recovery state, replay lag in bytes (received
 * vs replayed WAL when streaming; otherwise against the master's position, asked through SSH with
 * a short time-out) and in seconds (since the last replayed transaction: on an idle master that
 * grows although nothing is missing, so it counts as 0 when the byte lag is known to be 0), the age
 * of the newest restored segment and the size of archivedir.
 */
import { errorMessage } from '@pitrtools/core/errors';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { connectLocal } from '../local/server.js';
import { withMasterLink } from '../master-link.js';
import { evaluateCheck, lsnDiff, type CheckFacts, type CheckReport, type CheckThresholds } from '../recovery/check-report.js';
import { archiveSize, restoredInfo } from '../local/files.js';

/** Options of --check (thresholds default to the check_lag_* keys). */
export interface CheckOptions extends Partial<CheckThresholds> {
  /** Time limit for asking the master; default 5 s. */
  masterTimeoutMs?: number;
}

/** Measures and judges; never throws (a failure to measure is a note or UNKNOWN). */
export async function checkStandby(ctx: Ctx, o: CheckOptions = {}): Promise<CheckReport> {
  const { config } = ctx;
  const t: CheckThresholds = {
    warnBytes: o.warnBytes !== undefined ? o.warnBytes : config.check_lag_warn_bytes,
    critBytes: o.critBytes !== undefined ? o.critBytes : config.check_lag_critical_bytes,
    warnSeconds: o.warnSeconds ?? config.check_lag_warn_seconds,
    critSeconds: o.critSeconds ?? config.check_lag_critical_seconds,
    allowPrimary: o.allowPrimary ?? false,
  };
  const f: CheckFacts = { running: (await localServer(config.pgdata)).running, notes: [] };
  if (f.running) await measureServer(ctx, f, o.masterTimeoutMs ?? 5000);
  await measureFiles(ctx, f);
  return evaluateCheck(f, t);
}

async function measureServer(ctx: Ctx, f: CheckFacts, masterTimeoutMs: number): Promise<void> {
  let replay: string | null = null;
  try {
    const s = await connectLocal(ctx.config);
    try {
      const row = (await s.query<{ r: boolean; recv: string | null; replay: string | null; secs: number | null }>(
        `SELECT pg_is_in_recovery() AS r, pg_last_wal_receive_lsn()::text AS recv, pg_last_wal_replay_lsn()::text AS replay,
                extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS secs`))[0]!;
      f.inRecovery = row.r;
      replay = row.replay;
      if (row.secs !== null && row.r) f.lagSeconds = Math.max(0, row.secs);
      if (row.r && row.recv !== null && row.replay !== null) {
        f.lagBytes = Math.max(0, lsnDiff(row.recv, row.replay));
        f.lagSource = 'received WAL';
      }
    } finally { await s.end(); }
  } catch (err) {
    f.notes.push(`cannot query the local server: ${errorMessage(err)}`);
    return;
  }
  if (f.inRecovery && f.lagBytes === undefined && replay !== null) {
    try {
      const master = await withMasterLink(ctx.config, ctx.log, { applicationName: 'pitrtools check', timeoutMs: masterTimeoutMs },
        (l) => l.pg.scalar<string>('SELECT pg_current_wal_lsn()::text'));
      f.lagBytes = Math.max(0, lsnDiff(String(master), replay));
      f.lagSource = 'master';
    } catch (err) {
      f.notes.push(`lag in bytes unknown: the master did not answer (${errorMessage(err)})`);
    }
  }
  // An idle master writes no transactions: no byte lag means no real lag, whatever the clock says.
  if (f.lagBytes === 0 && f.lagSeconds !== undefined) f.lagSeconds = 0;
}

async function measureFiles(ctx: Ctx, f: CheckFacts): Promise<void> {
  const restored = await restoredInfo(ctx.config.pgdata);
  if (restored) {
    f.restoredAge = restored.ageSec;
    f.restoredSegment = restored.segment;
  }
  try {
    f.archivedirBytes = await archiveSize(ctx.config.archivedir);
  } catch (err) {
    f.notes.push(`archivedir: ${errorMessage(err)}`);
  }
}

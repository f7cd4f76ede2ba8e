/**
 * -F999 -R TIMESTAMP: point-in-time recovery of this copy. Checks that the copy has not already
 * gone past the target (backup_label START TIME, the live replay position, or the time -A stop
 * recorded), then recovery.signal + recovery_target_time + recovery_target_action = promote,
 * starts, waits until read-write and reports the time actually reached. PostgreSQL's own
 * verdicts are translated: a target before the copy's consistent point, or a target never reached.
 */
import { raiseAlert } from '@pitrtools/core/alerts';
import { ExitCode, PitrError, errorMessage } from '@pitrtools/core/errors';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { readBackupLabel, requireCompleteCopy } from '../local/copy-state.js';
import { readReplayed, recordReplayed } from '../local/files.js';
import { connectLocal, localBinaries, readLogSince, serverLogPath, startServer, stopServer, waitForServer } from '../local/server.js';
import { makeOurSettingsWin, warnArchivingAfterPromotion } from '../local/effective-settings.js';
import { probeMaster } from '../master-link.js';
import { PITR_NO_OTHER_TARGET } from '../recovery/inherited-settings.js';
import { settingsFor, type SettingsMode } from '../recovery/render.js';
import { installConfFiles, selfInvocation, setSignal, writeSettings } from '../recovery/settings-files.js';
import { backupLabelStartTime, type TargetTime } from '../recovery/target-time.js';
import { recordReplayTime } from './action.js';

/** Options of -F999 -R. */
export interface PitrOptions {
  iniPath: string;
  target: TargetTime;
  waitMs?: number;
}

/** What -R reached. */
export interface PitrResult {
  /** pg_last_xact_replay_timestamp() after recovery: the last transaction that was replayed. */
  lastReplayed: Date | null;
  /** From the log: the commit time of the first transaction NOT replayed. */
  stoppedBefore?: string;
}

const TOO_EARLY = /requested recovery stop point is before consistent recovery point/;
const NOT_REACHED = /recovery ended before configured recovery target was reached/;

/** Runs -F999 -R. */
export async function pointInTimeRecovery(ctx: Ctx, o: PitrOptions): Promise<PitrResult> {
  const { config, log } = ctx;
  const t = o.target;
  const probe = await probeMaster(config, log, Math.min(config.ssh_timeout * 1000, 10_000));
  if (probe.answers) log.warning(`the master is up (${probe.detail}): the recovered copy will be a separate, diverging master`);
  const bins = await localBinaries(config);
  if ((await localServer(config.pgdata)).running) {
    await refuseIfReplayedPast(ctx, t);
    await recordReplayTime(ctx);
    await stopServer(config, bins, log);
  }
  await requireCompleteCopy(config.pgdata, 'recover to a point in time (-R)');
  await refuseIfCopyPast(ctx, t);
  await installConfFiles(config, 'standby');
  await installConfFiles(config, 'failover');
  const mode: SettingsMode = { kind: 'pitr', self: selfInvocation(o.iniPath), targetTime: t.text };
  await writeSettings(config.pgdata, mode);
  await setSignal(config.pgdata, 'recovery');
  await makeOurSettingsWin(config.pgdata, bins, '-R', { ours: settingsFor(mode), empty: PITR_NO_OTHER_TARGET }, log);
  await warnArchivingAfterPromotion(config.pgdata, bins, log);
  log.info(`recovering to ${t.text}${t.zoneAssumed ? " (no zone given: PostgreSQL reads it in the server's timezone setting)" : ''}`);
  const logfile = serverLogPath(config);
  let offset = 0;
  try {
    offset = await startServer(config, bins, log);
    await waitForServer(config, 'primary', offset, o.waitMs ?? 3_600_000, log);
  } catch (err) {
    throw translate(err, await readLogSince(logfile, offset), t);
  }
  const s = await connectLocal(config);
  let lastReplayed: Date | null;
  let reachedText: string | null;
  try {
    // Also as text, so it is shown the way PostgreSQL shows T (microseconds, the server's zone).
    const row = (await s.query<{ t: Date | null; txt: string | null }>('SELECT pg_last_xact_replay_timestamp() AS t, pg_last_xact_replay_timestamp()::text AS txt'))[0];
    lastReplayed = row?.t ?? null;
    reachedText = row?.txt ?? null;
  } finally { await s.end(); }
  await writeSettings(config.pgdata, { kind: 'promoted', when: new Date().toISOString() });
  await recordReplayed(config.pgdata, null);
  const stoppedBefore = /recovery stopping before (?:commit|abort) of transaction \d+, time (.+)/.exec(await readLogSince(logfile, offset))?.[1]?.trim();
  const reached = reachedText ?? 'no transaction replayed';
  const message = `point-in-time recovery to ${t.text} done: last replayed transaction ${reached}${stoppedBefore ? `, stopped before one committed at ${stoppedBefore}` : ''}`;
  await raiseAlert(config, { level: 'OK', event: 'pitr_done', message, role: 'standby' }, log);
  ctx.out(`Recovered to ${t.text}: last replayed transaction committed at ${reached}${stoppedBefore ? ` (stopped before a transaction committed at ${stoppedBefore})` : ''}; the server is read-write`);
  return { lastReplayed, ...(stoppedBefore !== undefined ? { stoppedBefore } : {}) };
}

function fresh(): string {
  return 'a copy from before that time is needed: take a fresh base backup (-B) into a stopped copy and run -R before -S';
}

async function refuseIfReplayedPast(ctx: Ctx, t: TargetTime): Promise<void> {
  const s = await connectLocal(ctx.config);
  try {
    const row = (await s.query<{ r: boolean; ts: Date | null }>('SELECT pg_is_in_recovery() AS r, pg_last_xact_replay_timestamp() AS ts'))[0]!;
    if (!row.r) throw new PitrError('NOT_A_STANDBY', 'the local server is not in recovery: it is a master already; -R needs a standby or a stopped copy');
    if (row.ts && row.ts.getTime() > t.epochMs) {
      throw new PitrError('PAST_TARGET', `this standby has already replayed past ${t.text} (last replayed transaction ${row.ts.toISOString()}); ${fresh()}`);
    }
  } finally { await s.end(); }
}

async function refuseIfCopyPast(ctx: Ctx, t: TargetTime): Promise<void> {
  const label = await readBackupLabel(ctx.config.pgdata);
  const start = label !== undefined ? backupLabelStartTime(label) : undefined;
  if (start && t.epochMs < start.epochMs) {
    throw new PitrError('TARGET_BEFORE_COPY', `this copy starts at ${start.text}; a recovery target before that (${t.text}) needs an older base backup`);
  }
  if (label !== undefined) return;
  const replayed = await readReplayed(ctx.config.pgdata);
  if (replayed && replayed.epochMs > t.epochMs) {
    throw new PitrError('PAST_TARGET', `this copy has already replayed past ${t.text} (up to ${replayed.text}); ${fresh()}`);
  }
}

function translate(err: unknown, log: string, t: TargetTime): PitrError {
  if (TOO_EARLY.test(log)) {
    return new PitrError('TARGET_BEFORE_COPY', `${t.text} is before the point at which this copy becomes consistent; a recovery target before that needs an older base backup`);
  }
  if (NOT_REACHED.test(log)) {
    return new PitrError('TARGET_NOT_REACHED', `target not reached: recovery ended before configured recovery target was reached (${t.text}); the archive holds no WAL up to that time`, {
      exitCode: ExitCode.FAILED, hint: 'ship the missing WAL to archivedir (or choose an earlier time), then run -F999 -R again',
    });
  }
  return err instanceof PitrError ? err : new PitrError('PITR_FAILED', errorMessage(err));
}

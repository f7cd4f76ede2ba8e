/**
 * -F999 -R TIMESTAMP: point-in-time recovery of this copy. Reads the target as PostgreSQL will (a
 * zone-less one in the timezone the server will start with, asked of `postgres -C`), checks that
 * the copy has not already gone past it (the backup start -B recorded, the live replay position,
 * or the time -A stop recorded), then recovery.signal + recovery_target_time + recovery_target_action = promote,
 * starts, waits until read-write and reports the time actually reached. PostgreSQL's own
 * verdicts are translated: a target before the copy's consistent point, or a target never reached.
 */
import { raiseAlert } from '@pitrtools/core/alerts';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import type { PgBinaries } from '@pitrtools/core/pg/binaries';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { copyStart, readBackupLabel, requireCompleteCopy } from '../local/copy-state.js';
import { useReceivedWal } from '../receiver/control.js';
import { readReplayed, recordReplayed } from '../local/files.js';
import { connectLocal, localBinaries, readLogSince, serverLogPath, serverSetting, startServer, stopServer, waitForServer } from '../local/server.js';
import { makeOurSettingsWin, warnArchivingAfterPromotion } from '../local/effective-settings.js';
import { probeMaster } from '../master-link.js';
import { PITR_NO_OTHER_TARGET } from '../recovery/inherited-settings.js';
import { settingsFor, type SettingsMode } from '../recovery/render.js';
import { pitrDoneAlert } from '../recovery/pitr-report.js';
import { installConfFiles, recoveryConfFile, selfInvocation, setSignal, writeSettings } from '../recovery/settings-files.js';
import { TARGET_TIME_EXAMPLE, resolveTarget, serverZone, type TargetInput, type TargetTime } from '../recovery/target-time.js';
import { BACKUP_STATE } from '../state-files.js';
import { listSets } from '../catalogue/sets.js';
import { recordReplayTime } from './action.js';

/** Options of -F999 -R. */
export interface PitrOptions {
  iniPath: string;
  /** -R as parsed by parseTargetTime; read in the server's timezone when it has no zone. */
  target: TargetInput;
  waitMs?: number;
}

/** What -R reached. */
export interface PitrResult {
  /** The recovery target as written to recovery_target_time. */
  target: string;
  /** pg_last_xact_replay_timestamp() after recovery: the last transaction that was replayed. */
  lastReplayed: Date | null;
  /** The same as PostgreSQL prints it (microseconds, the server's zone), or null. */
  lastReplayedText: string | null;
  /** From the log: the commit time of the first transaction NOT replayed. */
  stoppedBefore?: string;
}

const TOO_EARLY = /requested recovery stop point is before consistent recovery point/;
const NOT_REACHED = /recovery ended before configured recovery target was reached/;

/** Runs -F999 -R; a target PostgreSQL would read otherwise or refuse: BAD_TARGET_TIME (exit 2). */
export async function pointInTimeRecovery(ctx: Ctx, o: PitrOptions): Promise<PitrResult> {
  const { config, log } = ctx;
  const probe = await probeMaster(config, log, Math.min(config.ssh_timeout * 1000, 10_000));
  if (probe.answers) log.warning(`the master is up (${probe.detail}): the recovered copy will be a separate, diverging master`);
  const bins = await localBinaries(config);
  const running = (await localServer(config.pgdata)).running;
  // A running server is a complete copy; a stopped one is checked before postgres -C reads it.
  if (!running) await requireCompleteCopy(config.pgdata, 'recover to a point in time (-R)');
  const t = await resolveForServer(ctx, bins, o.target);
  const older = await olderBackup(ctx, t);
  if (running) {
    await refuseIfReplayedPast(ctx, t, older);
    await recordReplayTime(ctx);
    await stopServer(config, bins, log);
  }
  await refuseIfCopyPast(ctx, t, older);
  await installConfFiles(config, 'standby');
  await installConfFiles(config, 'failover');
  const mode: SettingsMode = { kind: 'pitr', self: selfInvocation(o.iniPath), targetTime: t.text };
  await writeSettings(config.pgdata, mode);
  await setSignal(config.pgdata, 'recovery');
  await makeOurSettingsWin(config.pgdata, bins, '-R', { ours: settingsFor(mode), empty: PITR_NO_OTHER_TARGET }, log);
  await warnArchivingAfterPromotion(config.pgdata, bins, log);
  await useReceivedWal(ctx);
  log.info(`recovering to ${t.text}${t.zoneAssumed ? ` ('${t.input}' read in the server's timezone ${t.zoneName}, as PostgreSQL reads it)` : ''}`);
  const logfile = serverLogPath(config);
  let offset = 0;
  try {
    offset = await startServer(config, bins, log);
    await waitForServer(config, 'primary', offset, o.waitMs ?? 3_600_000, log);
  } catch (err) {
    throw translate(err, await readLogSince(logfile, offset), t, older);
  }
  const s = await connectLocal(config);
  let lastReplayed: Date | null;
  let reachedText: string | null;
  try {
    // Also as text, so it is shown the way PostgreSQL shows T (microseconds, the server's zone).
    const row = (
      await s.query<{ t: Date | null; txt: string | null }>('SELECT pg_last_xact_replay_timestamp() AS t, pg_last_xact_replay_timestamp()::text AS txt')
    )[0];
    lastReplayed = row?.t ?? null;
    reachedText = row?.txt ?? null;
  } finally {
    await s.end();
  }
  await writeSettings(config.pgdata, { kind: 'promoted', when: new Date().toISOString() });
  await recordReplayed(config.pgdata, null);
  const stoppedBefore = /recovery stopping before (?:commit|abort) of transaction \d+, time (.+)/.exec(await readLogSince(logfile, offset))?.[1]?.trim();
  const reached = { target: t.text, lastReplayed: reachedText, stoppedBefore };
  await raiseAlert(config, { level: 'OK', event: 'pitr_done', message: pitrDoneAlert(reached), role: 'standby' }, log);
  return { target: t.text, lastReplayed, lastReplayedText: reachedText, ...(stoppedBefore !== undefined ? { stoppedBefore } : {}) };
}

function fresh(): string {
  return 'a copy from before that time is needed: take a fresh base backup (-B) into a stopped copy and run -R before -S';
}

async function refuseIfReplayedPast(ctx: Ctx, t: TargetTime, older: OlderBackup): Promise<void> {
  const s = await connectLocal(ctx.config);
  try {
    const row = (await s.query<{ r: boolean; ts: Date | null }>('SELECT pg_is_in_recovery() AS r, pg_last_xact_replay_timestamp() AS ts'))[0]!;
    if (!row.r) throw new PitrError('NOT_A_STANDBY', 'the local server is not in recovery: it is a master already; -R needs a standby or a stopped copy');
    if (row.ts && row.ts.getTime() > t.epochMs) {
      throw new PitrError(
        'PAST_TARGET',
        `this standby has already replayed past ${t.text} (last replayed transaction ${row.ts.toISOString()}); ${fresh()}${older.words}`,
        older.hint !== undefined ? { hint: older.hint } : {},
      );
    }
  } finally {
    await s.end();
  }
}

/**
 * The target as an instant and as the text PostgreSQL will read the same way: a zone-less target
 * in the timezone the server will start with (`postgres -C timezone` on the configuration -R
 * installs), then `postgres -C recovery_target_time` on the text we will write, so a value
 * PostgreSQL would refuse at start-up is refused here, before anything changes.
 */
async function resolveForServer(ctx: Ctx, bins: PgBinaries, input: TargetInput): Promise<TargetTime> {
  const { config } = ctx;
  const configFile = recoveryConfFile(config);
  const where = configFile ?? `${config.pgdata}/postgresql.conf`;
  let server;
  if (input.zone === undefined) {
    const answer = await serverSetting(bins, config.pgdata, 'timezone', { configFile });
    if ('refused' in answer) throw new PitrError('SERVER_CONF_UNREADABLE', `cannot read the server's timezone from ${where}: ${answer.refused}`);
    const zone = serverZone(answer.value);
    if ('error' in zone) {
      throw new PitrError('BAD_TARGET_TIME', `-R '${input.input}' has no zone, and ${zone.error} (timezone in ${where})`, {
        hint: `give the zone with the target, e.g. ${TARGET_TIME_EXAMPLE.split(',')[0]}, or set timezone to a zone name (Europe/Berlin)`,
      });
    }
    server = zone;
  }
  const t = resolveTarget(input, server);
  const check = await serverSetting(bins, config.pgdata, 'recovery_target_time', { configFile, settings: { recovery_target_time: t.text } });
  if ('refused' in check) {
    throw new PitrError('BAD_TARGET_TIME', `PostgreSQL refuses recovery_target_time '${t.text}' (from -R '${input.input}'): ${check.refused}`, {
      hint: `write it like ${TARGET_TIME_EXAMPLE}`,
    });
  }
  return t;
}

/** The words that end a "needs an older base backup" refusal, and its hint: the kept backup set that can reach the target, if any. */
interface OlderBackup {
  words: string;
  hint?: string;
}

/** The newest kept set of the catalogue (full_backup) that is consistent at or before the target: its stop time <= target. */
async function olderBackup(ctx: Ctx, t: TargetTime): Promise<OlderBackup> {
  const full = ctx.config.full_backup;
  if (full === undefined || full === '') return { words: '' };
  const sets = await listSets(full).catch(() => []);
  const fit = sets.filter((s) => Date.parse(s.stop_time) <= t.epochMs).pop();
  if (!fit)
    return {
      words: sets.length
        ? `; no kept backup set reaches it (the oldest, ${sets[0]!.label}, is consistent from ${sets[0]!.stop_time})`
        : '; the catalogue (full_backup) holds no set',
    };
  return {
    words: `; the kept backup set ${fit.label} (consistent from ${fit.stop_time}) can reach it`,
    hint: `restore it into an empty directory: cmd_standby -C <ini> --restore-backup ${fit.label} --into DIR (or into pgdata once moved aside), then -F999 -R with that directory as pgdata`,
  };
}

async function refuseIfCopyPast(ctx: Ctx, t: TargetTime, older: OlderBackup): Promise<void> {
  const label = await readBackupLabel(ctx.config.pgdata);
  const start = await copyStart(ctx.config.pgdata);
  if (start && t.epochMs < start.earliestMs) {
    throw new PitrError(
      'TARGET_BEFORE_COPY',
      `this copy starts at ${start.text} (${start.source}); a recovery target before that (${t.text}) needs an older base backup${older.words}`,
      older.hint !== undefined ? { hint: older.hint } : {},
    );
  }
  // PostgreSQL itself only refuses a target before the copy is consistent when a commit lies in
  // between; otherwise it silently recovers past the target. So an unknown start is refused.
  if (start && t.epochMs < start.latestMs) {
    throw new PitrError(
      'COPY_START_AMBIGUOUS',
      `cannot tell whether ${t.text} is after this copy's start: backup_label says START TIME ${start.text}, ` +
        `and that abbreviation can name several offsets (the copy has no ${BACKUP_STATE} recording the start as an instant: it was not taken by this version's -B)`,
      {
        hint: `any target from ${new Date(start.latestMs).toISOString()} on is certainly after it; for an earlier one take a new base backup with -B, which records its start`,
      },
    );
  }
  if (label !== undefined) return;
  const replayed = await readReplayed(ctx.config.pgdata);
  if (replayed && replayed.epochMs > t.epochMs) {
    throw new PitrError(
      'PAST_TARGET',
      `this copy has already replayed past ${t.text} (up to ${replayed.text}); ${fresh()}${older.words}`,
      older.hint !== undefined ? { hint: older.hint } : {},
    );
  }
}

function translate(err: unknown, log: string, t: TargetTime, older: OlderBackup): PitrError {
  if (TOO_EARLY.test(log)) {
    return new PitrError(
      'TARGET_BEFORE_COPY',
      `${t.text} is before the point at which this copy becomes consistent; a recovery target before that needs an older base backup${older.words}`,
      older.hint !== undefined ? { hint: older.hint } : {},
    );
  }
  if (NOT_REACHED.test(log)) {
    return new PitrError(
      'TARGET_NOT_REACHED',
      `target not reached: recovery ended before configured recovery target was reached (${t.text}); the archive holds no WAL up to that time`,
      {
        hint: 'ship the missing WAL to archivedir (or choose an earlier time), then run -F999 -R again',
      },
    );
  }
  return err instanceof PitrError ? err : new PitrError('PITR_FAILED', errorMessage(err));
}

/**
 * -F999: turn this standby into a master. Refuses while the master's PostgreSQL answers (two
 * masters = split brain) unless forced; checks action_failover before touching anything; puts
 * pg_conf_failover / pg_hba_conf_failover in place; promotes with pg_promote() (a stopped standby
 * is started as a standby first, so it replays what the archive holds); waits until read-write;
 * runs action_failover; clears our recovery settings (primary_conninfo, primary_slot_name) and
 * reloads, so neither the running server nor a restart follows the old master; drops a slot named
 * like its own on itself (use_replication_slots). The dead master is not asked to drop anything:
 * its slots go with --rejoin.
 * With archiver_config, the new master ships its WAL at once (local/new-master-archiving.ts).
 */
import { raiseAlert } from '@pitrtools/core/alerts';
import { PitrError } from '@pitrtools/core/errors';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { requireCompleteCopy } from '../local/copy-state.js';
import { checkFailoverAction, runFailoverAction } from '../local/failover-hook.js';
import { connectLocal, localBinaries, restartServer, startServer, waitForServer } from '../local/server.js';
import { makeOurSettingsWin, warnArchivingAfterPromotion } from '../local/effective-settings.js';
import { enableArchiving, initQueues, loadNewMasterArchiving, requireArchiveMode } from '../local/new-master-archiving.js';
import { showSetting } from '@pitrtools/core/pg/show-setting';
import { probeMaster } from '../master-link.js';
import { installConfFiles, writeSettings, type ConfChange } from '../recovery/settings-files.js';
import { prepareStandby } from './standby.js';
import { useReceivedWal } from '../receiver/control.js';
import { dropOwnSlotAfterPromotion } from '../replication/standby-slot.js';

/** Options of -F999. */
export interface FailoverOptions {
  iniPath: string;
  /** --force: fail over even though the master answers. */
  force?: boolean;
  waitMs?: number;
  /** --switchover: the master was stopped on purpose (this says how): no probe, no split-brain refusal. */
  masterStopped?: string;
  /** false: no failover_done hook and no result line (--switchover reports the whole swap itself). */
  announce?: boolean;
}

/** What -F999 did. */
export interface FailoverResult {
  timeline: number;
  /** When pg_promote() returned and the server was read-write (ISO 8601, UTC). */
  promotedAt: string;
  /** Whether the master answered and --force promoted anyway. */
  forced: boolean;
  /** The archive_command set with ALTER SYSTEM (archiver_config), if any. */
  archiveCommand?: string;
}

/** Runs -F999 without -R. */
export async function failover(ctx: Ctx, o: FailoverOptions): Promise<FailoverResult> {
  const { config, log } = ctx;
  await checkFailoverAction(config);
  const archiving = loadNewMasterArchiving(config);
  const running = (await localServer(config.pgdata)).running;
  if (!running) await requireCompleteCopy(config.pgdata, 'fail over (-F999)');
  const probe =
    o.masterStopped !== undefined ? { answers: false, detail: o.masterStopped } : await probeMaster(config, log, Math.min(config.ssh_timeout * 1000, 10_000));
  if (probe.answers && !o.force) {
    throw new PitrError(
      'MASTER_ALIVE',
      `refusing to fail over: the master still answers (${probe.detail}); a second master would split the cluster's history (split brain)`,
      {
        hint: 'stop the master first; -F999 --force promotes anyway',
      },
    );
  }
  if (o.masterStopped !== undefined) log.info(`promoting: the master was ${o.masterStopped}`);
  else log.warning(probe.answers ? `--force: failing over although the master answers (${probe.detail})` : `the master does not answer: ${probe.detail}`);
  const bins = await localBinaries(config);
  const waitMs = o.waitMs ?? 600_000;
  await useReceivedWal(ctx);
  let change;
  if (running) {
    await assertInRecovery(ctx);
    change = await installConfFiles(config, 'failover');
    // The running server keeps its archive_mode unless the failover configuration restarts it below.
    if (archiving)
      await checkArchiveMode(
        ctx,
        change,
        change.conf ? await showSetting(bins.postgres, config.pgdata, 'archive_mode') : await sessionSetting(ctx, 'archive_mode'),
      );
    // Read by the promoted server at the reload or restart below (archive_command is reloadable).
    await makeOurSettingsWin(config.pgdata, bins, '-F999', { ours: [], empty: [] }, log);
  } else {
    await prepareStandby(ctx, o.iniPath, bins, '-F999');
    change = await installConfFiles(config, 'failover');
    if (archiving) await checkArchiveMode(ctx, change, await showSetting(bins.postgres, config.pgdata, 'archive_mode'));
    const offset = await startServer(config, bins, log);
    await waitForServer(config, 'standby', offset, waitMs, log);
  }
  if (!archiving) await warnArchivingAfterPromotion(config.pgdata, bins, log);
  const s = await connectLocal(config);
  try {
    const ok = await s.scalar<boolean>('SELECT pg_promote(true, 60)');
    if (!ok) throw new PitrError('PROMOTE_FAILED', 'pg_promote() did not finish within 60 s', { hint: 'see the server log' });
  } finally {
    await s.end();
  }
  await waitForServer(config, 'primary', 0, waitMs, log);
  const promotedAt = new Date().toISOString();
  await writeSettings(config.pgdata, { kind: 'promoted', when: promotedAt });
  // A new postgresql.conf may change settings that need a restart; a new pg_hba.conf only a reload.
  // Reload in any case: the emptied pitrtools.conf must also empty primary_conninfo and
  // primary_slot_name in the running server, or SHOW (and a later standby of it) sees the old master's.
  if (change.conf) await restartServer(config, bins, log);
  else await reload(ctx);
  await dropStaleOwnSlot(ctx);
  const timeline = await currentTimeline(ctx);
  let archiveCommand: string | undefined;
  if (archiving) {
    const printed = await initQueues(archiving, log);
    const l = await connectLocal(config);
    try {
      archiveCommand = await enableArchiving(l, archiving, printed);
    } finally {
      await l.end();
    }
    log.info(`archiving is on: archive_command = '${archiveCommand}' (ALTER SYSTEM, reloaded); timeline ${timeline} ships to the slaves of ${archiving.ini}`);
  }
  const failed = await runFailoverAction(config, log);
  if (failed !== undefined) {
    await raiseAlert(config, { level: 'CRITICAL', event: 'failover_action_failed', message: failed, role: 'standby' }, log);
    throw new PitrError('FAILOVER_ACTION_FAILED', `promoted to timeline ${timeline}, but ${failed}`);
  }
  const forced = probe.answers;
  if (o.announce === false) return { timeline, promotedAt, forced };
  await raiseAlert(
    config,
    { level: 'OK', event: 'failover_done', message: `successful failover: this server is now the master (timeline ${timeline})`, role: 'standby' },
    log,
  );
  return { timeline, promotedAt, forced, ...(archiveCommand !== undefined ? { archiveCommand } : {}) };
}

/** requireArchiveMode, putting the standby configuration back when it refuses. */
async function checkArchiveMode(ctx: Ctx, change: ConfChange, mode: string): Promise<void> {
  try {
    requireArchiveMode(ctx.config, mode);
  } catch (err) {
    if (change.conf || change.hba) await installConfFiles(ctx.config, 'standby');
    throw err;
  }
}

async function sessionSetting(ctx: Ctx, name: string): Promise<string> {
  const s = await connectLocal(ctx.config);
  try {
    return String(await s.scalar('SELECT current_setting($1)', [name]));
  } finally {
    await s.end();
  }
}

async function assertInRecovery(ctx: Ctx): Promise<void> {
  const s = await connectLocal(ctx.config);
  try {
    if (!(await s.scalar<boolean>('SELECT pg_is_in_recovery()'))) {
      throw new PitrError('NOT_A_STANDBY', 'the local server is not in recovery: it already is a master');
    }
  } finally {
    await s.end();
  }
}

// A slot named like our own on this server would hold WAL for a standby that does not exist.
async function dropStaleOwnSlot(ctx: Ctx): Promise<void> {
  if (!ctx.config.use_replication_slots) return;
  const s = await connectLocal(ctx.config);
  try {
    const r = await dropOwnSlotAfterPromotion(ctx.config, s);
    if (r?.result === 'dropped') ctx.log.info(`dropped the replication slot "${r.name}" on this server: it is the master now and streams through no slot`);
    if (r?.result === 'active') ctx.log.warning(`the replication slot "${r.name}" on this server is in use: left alone`);
  } finally {
    await s.end();
  }
}

async function reload(ctx: Ctx): Promise<void> {
  const s = await connectLocal(ctx.config);
  try {
    await s.query('SELECT pg_reload_conf()');
  } finally {
    await s.end();
  }
}

/** The timeline the local server writes WAL on now. */
export async function currentTimeline(ctx: Ctx): Promise<number> {
  const s = await connectLocal(ctx.config);
  try {
    return parseInt(String(await s.scalar('SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')), 16);
  } finally {
    await s.end();
  }
}

/**
 * -F999: turn this standby into a master. Refuses while the master's PostgreSQL answers (two
 * masters = split brain) unless forced; checks action_failover before touching anything; puts
 * pg_conf_failover / pg_hba_conf_failover in place; promotes with pg_promote() (a stopped standby
 * is started as a standby first, so it replays what the archive holds); waits until read-write;
 * runs action_failover; clears our recovery settings so a restart does not follow the old master.
 */
import { raiseAlert } from '@pitrtools/core/alerts';
import { ExitCode, PitrError } from '@pitrtools/core/errors';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { requireCompleteCopy } from '../local/copy-state.js';
import { checkFailoverAction, runFailoverAction } from '../local/failover-hook.js';
import { connectLocal, localBinaries, restartServer, startServer, waitForServer } from '../local/server.js';
import { makeOurSettingsWin, warnArchivingAfterPromotion } from '../local/effective-settings.js';
import { probeMaster } from '../master-link.js';
import { installConfFiles, writeSettings } from '../recovery/settings-files.js';
import { prepareStandby } from './standby.js';
import { useReceivedWal } from '../receiver/control.js';

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
}

/** Runs -F999 without -R. */
export async function failover(ctx: Ctx, o: FailoverOptions): Promise<FailoverResult> {
  const { config, log } = ctx;
  await checkFailoverAction(config);
  const running = (await localServer(config.pgdata)).running;
  if (!running) await requireCompleteCopy(config.pgdata, 'fail over (-F999)');
  const probe = o.masterStopped !== undefined ? { answers: false, detail: o.masterStopped }
    : await probeMaster(config, log, Math.min(config.ssh_timeout * 1000, 10_000));
  if (probe.answers && !o.force) {
    throw new PitrError('MASTER_ALIVE', `refusing to fail over: the master still answers (${probe.detail}); a second master would split the cluster's history (split brain)`, {
      exitCode: ExitCode.FAILED, hint: 'stop the master first; -F999 --force promotes anyway',
    });
  }
  if (o.masterStopped !== undefined) log.info(`promoting: the master was ${o.masterStopped}`);
  else log.warning(probe.answers ? `--force: failing over although the master answers (${probe.detail})` : `the master does not answer: ${probe.detail}`);
  const bins = await localBinaries(config);
  const waitMs = o.waitMs ?? 600_000;
  await useReceivedWal(ctx);
  let change;
  let disabled = 0;
  if (running) {
    await assertInRecovery(ctx);
    change = await installConfFiles(config, 'failover');
    // Read by the promoted server at the reload or restart below (archive_command is reloadable).
    disabled = (await makeOurSettingsWin(config.pgdata, bins, '-F999', { ours: [], empty: [] }, log)).length;
  } else {
    await prepareStandby(ctx, o.iniPath, bins, '-F999');
    change = await installConfFiles(config, 'failover');
    const offset = await startServer(config, bins, log);
    await waitForServer(config, 'standby', offset, waitMs, log);
  }
  await warnArchivingAfterPromotion(config.pgdata, bins, log);
  const s = await connectLocal(config);
  try {
    const ok = await s.scalar<boolean>('SELECT pg_promote(true, 60)');
    if (!ok) throw new PitrError('PROMOTE_FAILED', 'pg_promote() did not finish within 60 s', { hint: 'see the server log' });
  } finally { await s.end(); }
  await waitForServer(config, 'primary', 0, waitMs, log);
  await writeSettings(config.pgdata, { kind: 'promoted', when: new Date().toISOString() });
  // A new postgresql.conf may change settings that need a restart; a new pg_hba.conf only a reload.
  if (change.conf) await restartServer(config, bins, log);
  else if (change.hba || disabled > 0) await reload(ctx);
  const timeline = await currentTimeline(ctx);
  const failed = await runFailoverAction(config, log);
  if (failed !== undefined) {
    await raiseAlert(config, { level: 'CRITICAL', event: 'failover_action_failed', message: failed, role: 'standby' }, log);
    throw new PitrError('FAILOVER_ACTION_FAILED', `promoted to timeline ${timeline}, but ${failed}`, { exitCode: ExitCode.FAILED });
  }
  if (o.announce === false) return { timeline };
  await raiseAlert(config, { level: 'OK', event: 'failover_done', message: `successful failover: this server is now the master (timeline ${timeline})`, role: 'standby' }, log);
  ctx.out(`Failover finished: read-write on timeline ${timeline}. Statistics are not replicated: run ANALYZE on your databases.`);
  return { timeline };
}

async function assertInRecovery(ctx: Ctx): Promise<void> {
  const s = await connectLocal(ctx.config);
  try {
    if (!(await s.scalar<boolean>('SELECT pg_is_in_recovery()'))) {
      throw new PitrError('NOT_A_STANDBY', 'the local server is not in recovery: it already is a master', { exitCode: ExitCode.FAILED });
    }
  } finally { await s.end(); }
}

async function reload(ctx: Ctx): Promise<void> {
  const s = await connectLocal(ctx.config);
  try { await s.query('SELECT pg_reload_conf()'); } finally { await s.end(); }
}

/** The timeline the local server writes WAL on now. */
export async function currentTimeline(ctx: Ctx): Promise<number> {
  const s = await connectLocal(ctx.config);
  try {
    return parseInt(String(await s.scalar('SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')), 16);
  } finally { await s.end(); }
}

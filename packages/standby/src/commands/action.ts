/** -A start | stop | stop_basebackup | pause | resume. */
import { errorMessage } from '@pitrtools/core/errors';
import { requireHelpers } from '@pitrtools/core/pg/helpers';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { startReceiver, stopReceiver } from '../receiver/control.js';
import { requireCompleteCopy } from '../local/copy-state.js';
import { connectLocal, localBinaries, startServer, stopServer, waitForServer } from '../local/server.js';
import { withMasterLink } from '../master-link.js';
import { hasSignal, recordReplayed } from '../local/files.js';
import { setReplayPaused, type ReplayPauseState } from './replay-pause.js';

/** The actions -A accepts. */
export const ACTIONS = ['start', 'stop', 'stop_basebackup', 'pause', 'resume'] as const;
/** One of ACTIONS. */
export type Action = (typeof ACTIONS)[number];

/** What -A did: the CLI prints it with renderAction. */
export type ActionResult =
  | { action: 'start'; alreadyRunning: boolean; standby: boolean }
  | { action: 'stop'; receiverStopped: boolean; wasRunning: boolean }
  | { action: 'pause' | 'resume'; state: ReplayPauseState; replayLsn: string | null }
  | { action: 'stop_basebackup'; ended: number };

/** Runs -A and returns what it did; throws as the step that failed does (e.g. COPY_INCOMPLETE for -A start on a broken copy). */
export async function runAction(ctx: Ctx, action: Action): Promise<ActionResult> {
  if (action === 'start') return startAction(ctx);
  if (action === 'stop') return stopAction(ctx);
  if (action === 'pause' || action === 'resume') return pauseAction(ctx, action === 'pause');
  return stopBasebackup(ctx);
}

/** The result lines of -A for people. */
export function renderAction(r: ActionResult): string[] {
  switch (r.action) {
    case 'start':
      return [r.alreadyRunning ? 'The local server is already running' : `Server started${r.standby ? ' (standby)' : ''}`];
    case 'stop':
      return [...(r.receiverStopped ? ['WAL receiver stopped'] : []), r.wasRunning ? 'Server stopped' : 'The local server is not running'];
    case 'stop_basebackup':
      return [
        r.ended === 0 ? 'No base backup session was left on the master' : `Ended ${r.ended} base backup session${r.ended === 1 ? '' : 's'} on the master`,
      ];
    default: {
      const at = r.replayLsn !== null ? ` at ${r.replayLsn}` : '';
      if (r.action === 'resume') return [`Replay resumed${at}`];
      // 'pause requested': the startup process pauses at its next record (it may be waiting for WAL).
      return [
        r.state === 'paused'
          ? `Replay paused${at}; WAL keeps arriving but is not applied until -A resume`
          : `Replay pause requested${at}: it takes effect at the next WAL record; -A resume undoes it`,
      ];
    }
  }
}

async function startAction(ctx: Ctx): Promise<ActionResult> {
  const { config, log } = ctx;
  if ((await localServer(config.pgdata)).running) return { action: 'start', alreadyRunning: true, standby: false };
  await requireCompleteCopy(config.pgdata, 'start the server (-A start)');
  const standby = await hasSignal(config.pgdata, 'standby');
  const offset = await startServer(config, await localBinaries(config), log);
  await waitForServer(config, standby ? 'standby' : 'primary', offset, 600_000, log);
  if (standby) await startReceiver(ctx, config.file);
  return { action: 'start', alreadyRunning: false, standby };
}

async function stopAction(ctx: Ctx): Promise<ActionResult> {
  const { config, log } = ctx;
  const receiverStopped = await stopReceiver(ctx);
  if (!(await localServer(config.pgdata)).running) return { action: 'stop', receiverStopped, wasRunning: false };
  await recordReplayTime(ctx);
  await stopServer(config, await localBinaries(config), log);
  return { action: 'stop', receiverStopped, wasRunning: true };
}

/** Saves pg_last_xact_replay_timestamp() of a server in recovery, for -R's check on a stopped copy. */
export async function recordReplayTime(ctx: Ctx): Promise<void> {
  try {
    const s = await connectLocal(ctx.config);
    try {
      const row = (await s.query<{ r: boolean; t: Date | null }>('SELECT pg_is_in_recovery() AS r, pg_last_xact_replay_timestamp() AS t'))[0]!;
      if (row.r && row.t) await recordReplayed(ctx.config.pgdata, row.t);
      else if (!row.r) await recordReplayed(ctx.config.pgdata, null);
    } finally {
      await s.end();
    }
  } catch (err) {
    ctx.log.warning(`could not record the last replayed transaction time: ${errorMessage(err)}`);
  }
}

async function pauseAction(ctx: Ctx, pause: boolean): Promise<ActionResult> {
  const r = await setReplayPaused(ctx, pause);
  return { action: pause ? 'pause' : 'resume', state: r.state, replayLsn: r.replayLsn };
}

async function stopBasebackup(ctx: Ctx): Promise<ActionResult> {
  const ended = await withMasterLink(ctx.config, ctx.log, { applicationName: 'pitrtools stop_basebackup' }, async (l) => {
    await requireHelpers(l.pg, l.where);
    return Number(await l.pg.scalar('SELECT cmd_stop_stale_backups()'));
  });
  return { action: 'stop_basebackup', ended };
}

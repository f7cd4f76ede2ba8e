/**
 * -A pause / -A resume: pg_wal_replay_pause() / pg_wal_replay_resume() on the local standby
 * (walmgr's pause / continue). While paused, WAL still arrives (archivedir, streaming) but is not
 * applied: queries see the data as of the pause, and the lag grows until -A resume.
 */
import { PitrError } from '@pitrtools/core/errors';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { connectLocal } from '../local/server.js';

/** pg_get_wal_replay_pause_state() (PostgreSQL 14+). */
export type ReplayPauseState = 'not paused' | 'pause requested' | 'paused';

/** What -A pause / resume left behind. */
export interface ReplayPauseResult {
  state: ReplayPauseState;
  /** pg_last_wal_replay_lsn() when it answered. */
  replayLsn: string | null;
}

/**
 * Pauses (`pause: true`) or resumes replay on the local standby and returns the pause state after it.
 * Throws SERVER_NOT_RUNNING (exit 1) when the local server is down, NOT_A_STANDBY (exit 1) when it is not a standby.
 */
export async function setReplayPaused(ctx: Ctx, pause: boolean): Promise<ReplayPauseResult> {
  const { config } = ctx;
  const what = pause ? 'pause replay (-A pause)' : 'resume replay (-A resume)';
  if (!(await localServer(config.pgdata)).running) {
    throw new PitrError('SERVER_NOT_RUNNING', `cannot ${what}: the local PostgreSQL is not running (${config.pgdata})`, {
      hint: 'start it: cmd_standby -C <ini> -A start',
    });
  }
  const s = await connectLocal(config);
  try {
    // pg_wal_replay_pause() raises "recovery is not in progress" on a master; say it in our words first.
    if (!(await s.scalar<boolean>('SELECT pg_is_in_recovery()'))) {
      throw new PitrError(
        'NOT_A_STANDBY',
        `cannot ${what}: the local server in ${config.pgdata} is not in recovery (it is a master, e.g. after -F999), so there is no replay`,
        {
          hint: 'pause and resume apply to a standby only',
        },
      );
    }
    await s.query(pause ? 'SELECT pg_wal_replay_pause()' : 'SELECT pg_wal_replay_resume()');
    const row = (
      await s.query<{ state: ReplayPauseState; lsn: string | null }>('SELECT pg_get_wal_replay_pause_state() AS state, pg_last_wal_replay_lsn()::text AS lsn')
    )[0]!;
    return { state: row.state, replayLsn: row.lsn };
  } finally {
    await s.end();
  }
}

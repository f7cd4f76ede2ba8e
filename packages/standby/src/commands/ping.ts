/** -P: is the master's PostgreSQL answering (through SSH, as every other command reaches it)? */
import { raiseAlert } from '@pitrtools/core/alerts';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import type { Ctx } from '../context.js';
import { versionName } from '@pitrtools/core/pg/client';
import { withMasterLink } from '../master-link.js';

/** What -P found: the master's PostgreSQL version as PostgreSQL names it ('15.18'), and whether it is in recovery. */
export interface PingResult {
  version: string;
  /** pg_is_in_recovery(): the server answers but is a standby (a cascade's source, or not the master at all). */
  inRecovery: boolean;
}

/**
 * Runs -P and returns the master's version (the CLI prints it); throws MASTER_NO_RESPONSE (exit 1)
 * with the reason. A server in recovery answered, so that is still exit 0 (a standby may copy from
 * a standby), but a WARNING says so: after a failover it is the usual sign of an ini naming the old
 * master. `link` reaches the master (a fake in unit tests).
 */
export async function pingMaster(ctx: Ctx, link: typeof withMasterLink = withMasterLink): Promise<PingResult> {
  try {
    return await link(ctx.config, ctx.log, { applicationName: 'pitrtools ping' }, async (l) => {
      const rows = await l.pg.query<{ in_recovery: boolean }>('SELECT pg_is_in_recovery() AS in_recovery');
      const inRecovery = rows[0]?.in_recovery === true;
      if (inRecovery) {
        ctx.log.warning(
          `the ${l.where} is in recovery: it is a standby, not a master. Fine if this standby copies from a standby; ` +
            'otherwise master_public_ip and port name the wrong server, or it has not been promoted',
        );
      }
      return { version: versionName(l.pg.versionNum), inRecovery };
    });
  } catch (err) {
    const message = `no response from the master: ${errorMessage(err)}`;
    await raiseAlert(ctx.config, { level: 'CRITICAL', event: 'master_unreachable', message, role: 'standby' }, ctx.log);
    throw new PitrError('MASTER_NO_RESPONSE', message, { cause: err, ...(err instanceof PitrError && err.hint ? { hint: err.hint } : {}) });
  }
}

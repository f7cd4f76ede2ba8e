/** -P: is the master's PostgreSQL answering (through SSH, as every other command reaches it)? */
import { raiseAlert } from '@pitrtools/core/alerts';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import type { Ctx } from '../context.js';
import { versionName } from '@pitrtools/core/pg/client';
import { withMasterLink } from '../master-link.js';

/** What -P found: the master's PostgreSQL version as PostgreSQL names it ('15.18'). */
export interface PingResult {
  version: string;
}

/**
 * Runs -P and returns the master's version (the CLI prints it); throws MASTER_NO_RESPONSE (exit 1)
 * with the reason. `link` reaches the master (a fake in unit tests).
 */
export async function pingMaster(ctx: Ctx, link: typeof withMasterLink = withMasterLink): Promise<PingResult> {
  try {
    const v = await link(ctx.config, ctx.log, { applicationName: 'pitrtools ping' }, async (l) => {
      await l.pg.query('SELECT 1');
      return versionName(l.pg.versionNum);
    });
    return { version: v };
  } catch (err) {
    const message = `no response from the master: ${errorMessage(err)}`;
    await raiseAlert(ctx.config, { level: 'CRITICAL', event: 'master_unreachable', message, role: 'standby' }, ctx.log);
    throw new PitrError('MASTER_NO_RESPONSE', message, { cause: err, ...(err instanceof PitrError && err.hint ? { hint: err.hint } : {}) });
  }
}

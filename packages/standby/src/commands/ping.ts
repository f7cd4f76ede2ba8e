/** -P: is the master's PostgreSQL answering (through SSH, as every other command reaches it)? */
import { raiseAlert } from '@pitrtools/core/alerts';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import type { Ctx } from '../context.js';
import { versionName } from '@pitrtools/core/pg/client';
import { withMasterLink } from '../master-link.js';

/** Runs -P; throws MASTER_NO_RESPONSE (exit 1) with the reason. */
export async function pingMaster(ctx: Ctx): Promise<void> {
  try {
    const v = await withMasterLink(ctx.config, ctx.log, { applicationName: 'pitrtools ping' }, async (l) => {
      await l.pg.query('SELECT 1');
      return versionName(l.pg.versionNum);
    });
    ctx.out(`Got response from the master (PostgreSQL ${v})`);
  } catch (err) {
    const message = `no response from the master: ${errorMessage(err)}`;
    await raiseAlert(ctx.config, { level: 'CRITICAL', event: 'master_unreachable', message, role: 'standby' }, ctx.log);
    throw new PitrError('MASTER_NO_RESPONSE', message, { cause: err, ...(err instanceof PitrError && err.hint ? { hint: err.hint } : {}) });
  }
}

/** --install-helpers: installs sql/cmd_standby.sql on the master through the SSH connection. */
import { installHelpers } from '@pitrtools/core/pg/helpers';
import type { Ctx } from '../context.js';
import { withMasterLink } from '../master-link.js';

/** Runs --install-helpers; returns the installed helper version. */
export async function installMasterHelpers(ctx: Ctx): Promise<number> {
  return withMasterLink(ctx.config, ctx.log, { applicationName: 'pitrtools install-helpers' }, async (l) => {
    const v = await installHelpers(l.pg);
    ctx.out(`Installed the pitrtools helper functions (version ${v}) in database ${ctx.config.master_db} on the master`);
    return v;
  });
}

/** --install-helpers: installs sql/cmd_standby.sql on the master through the SSH connection. */
import { installHelpers } from '@pitrtools/core/pg/helpers';
import type { Ctx } from '../context.js';
import { withMasterLink } from '../master-link.js';

/** What --install-helpers did: the helper version now installed, in which database of the master. */
export interface InstallHelpersResult {
  version: number;
  database: string;
}

/** Runs --install-helpers. */
export async function installMasterHelpers(ctx: Ctx): Promise<InstallHelpersResult> {
  return withMasterLink(ctx.config, ctx.log, { applicationName: 'pitrtools install-helpers' }, async (l) => ({
    version: await installHelpers(l.pg),
    database: ctx.config.master_db,
  }));
}

/**
 * cmd_archiver --install-helpers: installs sql/cmd_standby.sql (what cmd_standby calls on the
 * master) into the local server, reached through the socket directory postmaster.pid names.
 */
import { userInfo } from 'node:os';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { PitrError } from '@pitrtools/core/errors';
import { withPg } from '@pitrtools/core/pg/client';
import { HELPERS_SQL_PATH, installHelpers } from '@pitrtools/core/pg/helpers';
import { localServer } from '@pitrtools/core/pg/local-server';
import { requireDataDirectory } from '../archive/pgdata.js';

/** Installs the helper functions into database `database` (default postgres); returns what was done. */
export async function installHelpersCommand(o: { config: ArchiverConfig; database?: string }): Promise<string> {
  await requireDataDirectory(o.config.pgdata);
  const server = await localServer(o.config.pgdata);
  if (!server.running || server.port === undefined) {
    throw new PitrError('PG_NOT_RUNNING', `PostgreSQL is not running in ${o.config.pgdata}`, {
      hint: `start it, or install by hand: psql -f ${HELPERS_SQL_PATH} postgres`,
    });
  }
  const database = o.database ?? 'postgres';
  const version = await withPg(
    {
      ...(server.socketDir !== undefined ? { host: server.socketDir } : {}),
      port: server.port,
      user: userInfo().username,
      database,
      applicationName: 'cmd_archiver --install-helpers',
    },
    installHelpers,
  );
  return `installed the pitrtools helper functions (version ${version}) into database ${database} from ${HELPERS_SQL_PATH}`;
}

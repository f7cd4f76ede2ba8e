/**
 * -I: prepare this host. Asks the master (over SSH and SQL, helpers required) for its version and
 * tablespaces, then creates pgdata, each tablespace directory (after tablespace_mapping) and
 * archivedir, all 0700, all or nothing (local/private-dirs.ts). Refuses while the local server runs,
 * and when a pg_ctl or pg_bin key names binaries that do not work.
 */
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import { locatePgBinaries } from '@pitrtools/core/pg/binaries';
import { requireHelpers } from '@pitrtools/core/pg/helpers';
import { isExternal, localLocation, parseMappings, type Tablespace } from '../basebackup/tablespaces.js';
import type { Ctx } from '../context.js';
import { createPrivateDirs, type DirOutcome } from '../local/private-dirs.js';
import { refuseIfRunning } from '../local/server.js';
import { withMasterLink } from '../master-link.js';

/** What -I found and made. */
export interface InitResult {
  masterMajor: number;
  /** Each directory -I looked after, in order, and whether it was there before. */
  dirs: DirOutcome[];
  /** The directories this run created. */
  created: string[];
}

/** Runs -I. */
export async function initStandby(ctx: Ctx): Promise<InitResult> {
  const { config, log } = ctx;
  await refuseIfRunning(config.pgdata, 'prepare the standby (-I)');
  const { major, tablespaces, archiveLibrary, archiveMode } = await withMasterLink(config, log, { applicationName: 'pitrtools init' }, async (l) => {
    await requireHelpers(l.pg, l.where);
    const info = (
      await l.pg.query<{ archive_mode: string; archive_library: string | null }>('SELECT archive_mode, archive_library FROM cmd_server_info()')
    )[0]!;
    const ts = await l.pg.query<Tablespace>('SELECT oid::text AS oid, spcname AS name, location FROM cmd_get_tablespaces()');
    return { major: l.pg.major, tablespaces: ts, archiveLibrary: info.archive_library, archiveMode: info.archive_mode };
  });
  if (archiveMode === 'off') log.warning('archive_mode is off on the master: no WAL will reach archivedir until it is on');
  if (archiveLibrary) log.warning(`the master sets archive_library = '${archiveLibrary}': cmd_archiver must be its archive_command instead`);
  try {
    locatePgBinaries({ pg_ctl: config.pg_ctl, pg_bin: config.pg_bin, includepath: config.includepath, file: config.file, wantMajor: major });
  } catch (err) {
    // A pg_ctl or pg_bin key that names the wrong thing is an error before anything is created.
    if (err instanceof PitrError && err.code === 'PG_BINARIES_KEY') throw err;
    log.warning(`${errorMessage(err)}: -S will need them`);
  }
  const mappings = parseMappings(config.tablespace_mapping ?? []);
  const dirs: Array<[string, string]> = [
    ['pgdata', config.pgdata],
    ...tablespaces.filter(isExternal).map((t): [string, string] => [`the directory of tablespace ${t.name}`, localLocation(t.location, mappings)]),
    ['archivedir', config.archivedir],
  ];
  // All or nothing: a directory that cannot be made takes back the ones made before it.
  const made = await createPrivateDirs(dirs, (w) => log.warning(w));
  return { masterMajor: major, ...made };
}

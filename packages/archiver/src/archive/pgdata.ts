/**
 * The one answer of every cmd_archiver action (-F, -I, --setup, --install-helpers) to a pgdata
 * that is not a data directory we can use: NO_PG_WAL (exit 2, a configuration error), with the
 * same words on every path. Permission denied is told apart: that is another user's pgdata (a
 * run by hand as someone else than PostgreSQL's user), not a wrong key.
 */
import { promises as fsp } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { PitrError, errorCode } from '@pitrtools/core/errors';

/** NO_PG_WAL for `pgdata`, from the error of looking at `what` in it (e.g. 'pg_wal', 'PG_VERSION'). */
export function badPgdata(pgdata: string, what: string, err: unknown): PitrError {
  const code = errorCode(err) ?? String(err);
  if (code === 'EACCES' || code === 'EPERM') {
    return new PitrError('NO_PG_WAL', `pgdata ${pgdata}: ${what} cannot be reached by user ${userInfo().username} (permission denied, ${code})`, {
      hint: "run it as the user PostgreSQL runs as (archive_command does), or check the 'pgdata' key of the ini file",
    });
  }
  return new PitrError('NO_PG_WAL', `pgdata ${pgdata} is not a PostgreSQL data directory (${what}: ${code})`, {
    hint: "check the 'pgdata' key of the ini file",
  });
}

/** Throws badPgdata's error unless `pgdata` holds PG_VERSION, global/pg_control and pg_wal that we can reach. */
export async function requireDataDirectory(pgdata: string): Promise<void> {
  for (const what of ['PG_VERSION', 'global/pg_control', 'pg_wal']) {
    try {
      await fsp.access(join(pgdata, what));
    } catch (err) {
      throw badPgdata(pgdata, what, err);
    }
  }
}

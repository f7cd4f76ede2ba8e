/** Whether the data directory holds a complete copy that may be started. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { PitrError } from '@pitrtools/core/errors';
import { isDataDirectory } from '@pitrtools/core/pg/local-server';
import { INCOMPLETE_MARKER } from '../state-files.js';

/** Refuses (exit 1) when -B did not finish or never ran; `what` names the action, e.g. "start the standby (-S)". */
export async function requireCompleteCopy(pgdata: string, what: string): Promise<void> {
  const marker = join(pgdata, INCOMPLETE_MARKER);
  if (await fsp.access(marker).then(() => true, () => false)) {
    throw new PitrError('COPY_INCOMPLETE', `cannot ${what}: the base backup in ${pgdata} did not finish (${INCOMPLETE_MARKER} is there)`, {
      hint: 'run cmd_standby -C <ini> -B again until it reports "Base backup finished"',
    });
  }
  if (!(await isDataDirectory(pgdata))) {
    throw new PitrError('NO_COPY', `cannot ${what}: ${pgdata} holds no copy of the master (no PG_VERSION or global/pg_control)`, {
      hint: 'take one first: cmd_standby -C <ini> -B',
    });
  }
}

/** The backup_label of the copy, if -B left one that PostgreSQL has not consumed yet. */
export async function readBackupLabel(pgdata: string): Promise<string | undefined> {
  return fsp.readFile(join(pgdata, 'backup_label'), 'utf8').catch(() => undefined);
}

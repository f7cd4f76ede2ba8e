/**
 * `--restore %f %p`, our restore_command: copies archivedir/%f to %p (relative to the data
 * directory, PostgreSQL's working directory) through a fsynced temp file and a rename, so the
 * server never reads a half-written segment. A file that is not there is the normal answer to
 * PostgreSQL's constant probing for .history files and for the next segment: exit 1, silently.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { ExitCode, PitrError, errorCode } from '@pitrtools/core/errors';
import { copyFileAtomic } from '@pitrtools/core/fs/atomic';
import { checkOwnDir } from '@pitrtools/core/fs/ownership';
import { walKind } from '@pitrtools/core/wal';
import { recordRestored } from '../local/files.js';

/** Options of restoreWal. */
export interface RestoreOptions {
  archivedir: string;
  pgdata: string;
  /** %f: the archived file PostgreSQL wants. */
  file: string;
  /** %p: where to put it, relative to `cwd` (PostgreSQL runs the command in the data directory). */
  dest: string;
  cwd?: string;
}

/** 'restored', or 'missing' when archivedir does not have it (yet); throws DIR_NOT_PRIVATE (exit 2) when archivedir is not ours or others can write in it. */
export async function restoreWal(o: RestoreOptions): Promise<'restored' | 'missing'> {
  const kind = walKind(o.file);
  if (kind === undefined) {
    throw new PitrError('BAD_WAL_NAME', `refusing to restore '${o.file}': not a WAL file name PostgreSQL archives`, { exitCode: ExitCode.USAGE });
  }
  // Whoever can write in archivedir chooses the WAL we replay: refused (exit 2) unless it is ours.
  if (!(await checkOwnDir(o.archivedir, 'archivedir'))) return 'missing';
  const src = join(o.archivedir, o.file);
  const dest = isAbsolute(o.dest) ? o.dest : resolve(o.cwd ?? process.cwd(), o.dest);
  try {
    await copyFileAtomic(src, dest);
  } catch (err) {
    if (errorCode(err) === 'ENOENT' && (err as { path?: string }).path === src) return 'missing';
    throw err;
  }
  // Remembered for --check: the newest restored segment and (as the file's mtime) when.
  if (kind === 'segment') await recordRestored(o.pgdata, o.file);
  return 'restored';
}

/**
 * What -F may name: only a file PostgreSQL itself asks to archive. The path (relative to pgdata,
 * as PostgreSQL passes %p, or absolute) must resolve into pgdata/pg_wal, carry a WAL file name,
 * be a regular file, and be one PostgreSQL has finished: pg_wal/archive_status holds NAME.ready
 * (XLogArchiveNotify writes it once the file is complete; the archiver calls archive_command only
 * for those, and renames it NAME.done after success) or NAME.done. A segment still being written
 * (a run by hand) would ship a partial file that the never-overwrite rule then holds against the
 * finished one. Anything else is refused before a single byte is written anywhere.
 */
import { basename, dirname, isAbsolute, join } from 'node:path';
import { PitrError, errorCode } from '@pitrtools/core/errors';
import { walKind } from '@pitrtools/core/wal';
import { badPgdata } from './pgdata.js';
import type { Segment } from './ports.js';

/** The two file-system calls validation needs (node:fs/promises in production). */
export interface PathFs {
  realpath(path: string): Promise<string>;
  lstat(path: string): Promise<{ isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; size: number; ino: number; mtimeMs: number }>;
}

/** A validated segment plus what identifies this very file (to notice a replaced one). */
export interface ResolvedSegment extends Segment {
  ino: number;
  mtimeMs: number;
}

// Names and paths come from the command line: show them quoted and escaped, never raw (a
// newline in a name must not forge a line in PostgreSQL's log).
const show = (s: string): string => JSON.stringify(s);

/** Exit 2 for a bad name or place, 1 for a missing file (error-codes.ts). */
function refuse(
  code: 'BAD_WAL_PATH' | 'BAD_WAL_NAME' | 'WAL_MISSING' | 'WAL_NOT_READY',
  message: string,
  hint = 'archive_command must pass %p (cmd_archiver -C <ini> -F %p); PostgreSQL never names anything outside pg_wal',
): PitrError {
  return new PitrError(code, message, { hint });
}

/**
 * Checks -F against pgdata and returns the real file; throws PitrError: BAD_WAL_PATH, BAD_WAL_NAME,
 * NO_PG_WAL (exit 2) for a bad name or place; WAL_MISSING (exit 1) for a missing file,
 * WAL_NOT_READY (exit 1) for one PostgreSQL has not marked .ready or .done.
 */
export async function resolveSegment(file: string, pgdata: string, fs: PathFs): Promise<ResolvedSegment> {
  if (file === '') throw refuse('BAD_WAL_PATH', '-F names no file');
  if (file.split('/').includes('..')) throw refuse('BAD_WAL_PATH', `-F ${show(file)} contains '..'`);
  const name = basename(file);
  if (walKind(name) === undefined) {
    throw refuse(
      'BAD_WAL_NAME',
      `-F ${show(file)}: ${show(name)} is not a WAL file name PostgreSQL archives ` + '(24 hex digits, or a .history, .backup or .partial file)',
    );
  }
  const abs = isAbsolute(file) ? file : join(pgdata, file);
  let walDir: string;
  try {
    walDir = await fs.realpath(join(pgdata, 'pg_wal'));
  } catch (err) {
    throw badPgdata(pgdata, 'pg_wal', err);
  }
  let dir: string;
  try {
    dir = await fs.realpath(dirname(abs));
  } catch {
    throw refuse('BAD_WAL_PATH', `-F ${show(file)}: directory ${show(dirname(abs))} does not exist`);
  }
  if (dir !== walDir) throw refuse('BAD_WAL_PATH', `-F ${show(file)} is not in ${walDir} (pg_wal of ${pgdata})`);
  const path = join(walDir, name);
  let st: Awaited<ReturnType<PathFs['lstat']>>;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw refuse('WAL_MISSING', `${path} does not exist`);
    throw new PitrError('WAL_UNREADABLE', `cannot look at ${path}: ${String(err)}`);
  }
  if (st.isSymbolicLink()) throw refuse('BAD_WAL_PATH', `${path} is a symbolic link; refusing to follow it`);
  if (!st.isFile()) throw refuse('BAD_WAL_PATH', `${path} is ${st.isDirectory() ? 'a directory' : 'not a regular file'}`);
  const status = join(walDir, 'archive_status', name);
  const marked = async (suffix: string): Promise<boolean> =>
    fs.lstat(`${status}${suffix}`).then(
      () => true,
      () => false,
    );
  if (!(await marked('.ready')) && !(await marked('.done'))) {
    throw refuse(
      'WAL_NOT_READY',
      `${path} is not marked for archiving (no archive_status/${name}.ready or .done): PostgreSQL may still be writing it, ` +
        'and a partial copy on a slave would be held against the finished file',
      "leave it to PostgreSQL's archiver; to ship it now, finish it first (SELECT pg_switch_wal() on the master)",
    );
  }
  return { name, path, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs };
}

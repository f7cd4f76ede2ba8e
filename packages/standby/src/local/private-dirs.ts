/**
 * The directories -I creates (pgdata, tablespace directories, archivedir), all or nothing: when
 * one cannot be made, every directory this run created (parents included) is removed again, and
 * the error says in words what the system call said, with the fix.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { userInfo } from 'node:os';
import { PitrError, errorCode, errorMessage } from '@pitrtools/core/errors';
import { makePrivateDir } from './files.js';

/** What happened to each directory, in order. */
export interface DirReport {
  lines: string[];
  /** Directories that did not exist before (the ones named, not their new parents). */
  created: string[];
}

/** Why mkdir/chmod failed, as a sentence and a fix; a PitrError (e.g. not ours) passes unchanged. */
export function explainDirError(err: unknown, what: string, dir: string): PitrError {
  if (err instanceof PitrError) return err;
  const user = userInfo().username;
  const code = errorCode(err);
  const [why, hint] =
    code === 'EACCES' || code === 'EPERM'
      ? [
          `permission denied: ${user} may not create it in ${nearestExisting(err, dir)}`,
          `create it as root for this user: install -d -m 0700 -o ${user} ${dir}`,
        ]
      : code === 'EROFS'
        ? ['the file system is mounted read-only', `choose a directory on a writable file system for ${what}`]
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? ['no space (or quota) left on that file system', 'free space there, or choose another directory']
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? ['a part of the path exists and is not a directory', `check each component of ${dir}`]
            : code === 'ENAMETOOLONG' || code === 'ELOOP'
              ? ['the path is too long or loops through symbolic links', `check ${dir}`]
              : [errorMessage(err), `check ${dir} and its parents`];
  return new PitrError('CANNOT_CREATE_DIR', `cannot create ${what} ${dir}: ${why}${code ? ` (${code})` : ''}; nothing was left behind`, { hint, cause: err });
}

function nearestExisting(err: unknown, dir: string): string {
  const p = (err as { path?: unknown }).path;
  return typeof p === 'string' && p !== dir ? dirname(p) : dirname(dir);
}

/** Creates each [what, dir] 0700 (see makePrivateDir); on any failure removes what this call created and throws. */
export async function createPrivateDirs(dirs: ReadonlyArray<readonly [string, string]>, warn: (w: string) => void): Promise<DirReport> {
  const made: string[] = []; // the first directory each mkdir created (the top of what is new)
  const report: DirReport = { lines: [], created: [] };
  for (const [what, dir] of dirs) {
    try {
      const top = await topToCreate(dir);
      const { existed, warning } = await makePrivateDir(dir, what);
      if (top !== undefined) made.push(top);
      if (warning !== undefined) warn(warning);
      if (!existed) report.created.push(dir);
      report.lines.push(`${existed ? 'exists ' : 'created'} ${dir}`);
    } catch (err) {
      for (const top of made.reverse()) await fsp.rm(top, { recursive: true, force: true }).catch(() => undefined);
      throw explainDirError(err, what, dir);
    }
  }
  return report;
}

/** The outermost missing directory on the way to `dir` (what mkdir -p would create first), or undefined. */
async function topToCreate(dir: string): Promise<string | undefined> {
  let top: string | undefined;
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    if (
      await fsp.lstat(d).then(
        () => true,
        () => false,
      )
    )
      break;
    top = d;
  }
  return top;
}

/**
 * A failing local disk in words: the errno of a file operation turned into a sentence and a fix,
 * the same words for -I's directories and the restore helper's copies.
 */
import { dirname } from 'node:path';
import { userInfo } from 'node:os';
import { errorCode, errorMessage } from '@pitrtools/core/errors';

/** Why a file operation on `path` failed and what fixes it: [sentence, hint, errno code or undefined]; `what` names the file for the hint. */
export function diskProblem(err: unknown, what: string, path: string): [string, string, string | undefined] {
  const user = userInfo().username;
  const code = errorCode(err);
  const [why, hint] =
    code === 'EACCES' || code === 'EPERM'
      ? [
          `permission denied: ${user} may not write in ${nearestExisting(err, path)}`,
          `give ${user} write access there, or choose another directory for ${what}`,
        ]
      : code === 'EROFS'
        ? ['the file system is mounted read-only', `choose a directory on a writable file system for ${what}`]
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? ['no space (or quota) left on that file system', 'free space there, or choose another directory']
          : code === 'EIO'
            ? ['the disk reported an I/O error', 'check the disk (dmesg, smartctl) before trusting files on it']
            : code === 'ENOTDIR' || code === 'EEXIST'
              ? ['a part of the path exists and is not a directory', `check each component of ${path}`]
              : code === 'ENAMETOOLONG' || code === 'ELOOP'
                ? ['the path is too long or loops through symbolic links', `check ${path}`]
                : [errorMessage(err), `check ${path} and its parents`];
  return [why, hint, code];
}

/** The directory a failed call named (the deepest existing one on the way), else the parent of `path`. */
export function nearestExisting(err: unknown, path: string): string {
  const p = (err as { path?: unknown }).path;
  return typeof p === 'string' && p !== path ? dirname(p) : dirname(path);
}

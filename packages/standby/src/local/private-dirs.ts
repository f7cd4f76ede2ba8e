/**
 * The directories -I creates (pgdata, tablespace directories, archivedir), all or nothing: when
 * one cannot be made, every directory this run created (parents included) is removed again, and
 * the error says in words what the system call said, with the fix.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { userInfo } from 'node:os';
import { PitrError } from '@pitrtools/core/errors';
import { diskProblem, nearestExisting } from './disk-errors.js';
import { makePrivateDir } from './files.js';

/** One directory -I looked after. */
export interface DirOutcome {
  what: string;
  dir: string;
  /** It was there before (and is ours, now 0700). */
  existed: boolean;
}

/** What happened to each directory, in order. */
export interface DirReport {
  dirs: DirOutcome[];
  /** Directories that did not exist before (the ones named, not their new parents). */
  created: string[];
}

/** The local disk as -I uses it (node:fs in nodePrivateDirFs; a fake that fails where a test wants in unit tests). */
export interface PrivateDirFs {
  /** Whether anything (even a dangling link) is at `path`. */
  exists(path: string): Promise<boolean>;
  /** makePrivateDir: creates `dir` and its parents 0700, or checks the one that is there. */
  makePrivateDir(dir: string, what: string): Promise<{ existed: boolean; warning?: string }>;
  /** Removes a tree this run created. */
  removeTree(path: string): Promise<void>;
}

/** The real disk. */
export const nodePrivateDirFs: PrivateDirFs = {
  exists: (path) =>
    fsp.lstat(path).then(
      () => true,
      () => false,
    ),
  makePrivateDir,
  removeTree: (path) => fsp.rm(path, { recursive: true, force: true }),
};

/** Why mkdir/chmod failed, as a sentence and a fix; a PitrError (e.g. not ours) passes unchanged; `left`: what could not be taken back. */
export function explainDirError(err: unknown, what: string, dir: string, left: readonly string[] = []): PitrError {
  if (err instanceof PitrError) return err;
  const user = userInfo().username;
  const [why, diskHint, code] = diskProblem(err, what, dir);
  const denied = code === 'EACCES' || code === 'EPERM';
  const sentence = denied ? `permission denied: ${user} may not create it in ${nearestExisting(err, dir)}` : why;
  const hint = denied ? `create it as root for this user: install -d -m 0700 -o ${user} ${dir}` : diskHint;
  const after = left.length === 0 ? 'nothing was left behind' : `could not remove what this run created: ${left.join(', ')} (remove it by hand)`;
  return new PitrError('CANNOT_CREATE_DIR', `cannot create ${what} ${dir}: ${sentence}${code ? ` (${code})` : ''}; ${after}`, { hint, cause: err });
}

/** Creates each [what, dir] 0700 (see makePrivateDir); on any failure removes what this call created and throws CANNOT_CREATE_DIR (exit 1). */
export async function createPrivateDirs(
  dirs: ReadonlyArray<readonly [string, string]>,
  warn: (w: string) => void,
  fs: PrivateDirFs = nodePrivateDirFs,
): Promise<DirReport> {
  const made: string[] = []; // the first directory each mkdir created (the top of what is new)
  const report: DirReport = { dirs: [], created: [] };
  for (const [what, dir] of dirs) {
    let top: string | undefined;
    try {
      top = await topToCreate(fs, dir);
      const { existed, warning } = await fs.makePrivateDir(dir, what);
      if (top !== undefined) made.push(top);
      top = undefined;
      if (warning !== undefined) warn(warning);
      if (!existed) report.created.push(dir);
      report.dirs.push({ what, dir, existed });
    } catch (err) {
      // A mkdir -p that failed half way may have made some parents already: they go too.
      if (top !== undefined) made.push(top);
      const left: string[] = [];
      for (const t of made.reverse()) {
        await fs.removeTree(t).catch(() => left.push(t));
      }
      throw explainDirError(err, what, dir, left);
    }
  }
  return report;
}

/** The outermost missing directory on the way to `dir` (what mkdir -p would create first), or undefined. */
async function topToCreate(fs: PrivateDirFs, dir: string): Promise<string | undefined> {
  let top: string | undefined;
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    if (await fs.exists(d)) break;
    top = d;
  }
  return top;
}

/**
 * Directories we write in must be ours: whoever else can write in l_archivedir (or a queue, the
 * marker directory, the socket directory, the standby's archivedir) can move a queued segment
 * away, plant a file we trust, or put a symbolic link where we create a file. So every run that
 * writes in one checks it first, with one lstat(2): a real directory (a symbolic link is refused,
 * even one we configured: name the real directory instead), owned by our effective uid, and not
 * writable by group or others (mode & 0o022 == 0). Our own files in them are created and opened
 * with O_NOFOLLOW (and O_EXCL when new), so a symbolic link at one of our names is refused, never
 * followed.
 */
import { constants, promises as fsp } from 'node:fs';
import { userInfo } from 'node:os';
import { PitrError, errorCode } from '../errors.js';

/** Error code of a directory we refuse to write in (exit 2). */
export const DIR_NOT_PRIVATE = 'DIR_NOT_PRIVATE';
/** Error code of a symbolic link found at the name of one of our files (exit 2). */
export const SYMLINK_REFUSED = 'SYMLINK_REFUSED';

const euid = (): number => process.geteuid?.() ?? 0;

/** The stat(2) fields judgeOwnDir needs: from lstat here, or from SFTP's LSTAT on a slave. */
export interface DirStat {
  isSymbolicLink: boolean;
  isDirectory: boolean;
  /** st_mode (type and permission bits). */
  mode: number;
  uid: number;
}

/** A directory we refuse to write in: what is wrong (a sentence after "it") and the fix. */
export interface DirProblem {
  problem: string;
  hint: string;
}

/**
 * The rule of this file applied to one lstat(2) of `dir`: undefined when it is a directory owned
 * by `uid`, not writable by group or others; else what is wrong and the fix (`owner` names the
 * user for the chown hint). The same judgement for a local directory (ownDirProblem) and a
 * slave's r_archivedir (the SFTP upload and the WAL receiver).
 */
export function judgeOwnDir(st: DirStat, dir: string, uid: number, owner: string): DirProblem | undefined {
  if (st.isSymbolicLink) {
    return {
      problem: 'is a symbolic link (it is never followed: whoever can change the link decides where we write)',
      hint: 'name the directory itself, not a link',
    };
  }
  if (!st.isDirectory) return { problem: 'is not a directory', hint: `move ${dir} away, or name another directory` };
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (st.uid !== uid) {
    return {
      problem: `belongs to uid ${st.uid} (mode ${mode}), not to this user (uid ${uid})`,
      hint: `as root: chown ${owner} ${dir} && chmod 0700 ${dir}`,
    };
  }
  if ((st.mode & 0o022) !== 0) {
    const who = [(st.mode & 0o020) !== 0 ? 'its group' : '', (st.mode & 0o002) !== 0 ? 'every user' : ''].filter(Boolean).join(' and ');
    return { problem: `is writable by others (${who}; mode ${mode})`, hint: `chmod 0700 ${dir}` };
  }
  return undefined;
}

/** What is wrong with `dir` as a directory of ours: undefined when fine; `missing` when it does not exist. */
export async function ownDirProblem(dir: string, uid: number = euid()): Promise<DirProblem | 'missing' | undefined> {
  let st;
  try {
    st = await fsp.lstat(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'missing';
    return { problem: `cannot be checked (${errorCode(err) ?? String(err)})`, hint: `check the permissions of the directories above ${dir}` };
  }
  const p = judgeOwnDir({ isSymbolicLink: st.isSymbolicLink(), isDirectory: st.isDirectory(), mode: st.mode, uid: st.uid }, dir, uid, userName(uid));
  if (p !== undefined && st.isSymbolicLink()) {
    const real = await fsp.realpath(dir).catch(() => undefined);
    if (real !== undefined) return { ...p, hint: `name the directory itself: ${real}` };
  }
  return p;
}

function userName(uid: number): string {
  try {
    const u = userInfo();
    return u.uid === uid ? u.username : String(uid);
  } catch {
    return String(uid);
  }
}

/**
 * Throws PitrError DIR_NOT_PRIVATE (exit 2) unless `dir` is a directory (not a symbolic link)
 * owned by our effective uid and not writable by group or others; `what` names it in the message
 * (an ini key such as "l_archivedir", or "the queue of slave X"). Returns false when `dir` does not
 * exist (the caller decides), true when it is fine. One lstat(2).
 */
export async function checkOwnDir(dir: string, what: string, uid: number = euid()): Promise<boolean> {
  const p = await ownDirProblem(dir, uid);
  if (p === 'missing') return false;
  if (p === undefined) return true;
  throw new PitrError(DIR_NOT_PRIVATE, `refusing to write in ${what} ${dir}: it ${p.problem}`, { hint: p.hint });
}

/** Like checkOwnDir, but a missing directory is refused too (what the caller names as the fix). */
export async function requireOwnDir(dir: string, what: string, missingHint: string, uid: number = euid()): Promise<void> {
  if (!(await checkOwnDir(dir, what, uid))) {
    throw new PitrError(DIR_NOT_PRIVATE, `${what} ${dir} does not exist`, { hint: missingHint });
  }
}

/** The error for a symbolic link found where one of our files goes (exit 2), or `err` itself when it says something else. */
export function refusedLink(path: string, err: unknown): unknown {
  // O_NOFOLLOW on a symbolic link fails with ELOOP (Linux, the BSDs: EMLINK on FreeBSD).
  if (errorCode(err) !== 'ELOOP' && errorCode(err) !== 'EMLINK') return err;
  return linkRefused(path);
}

/** PitrError SYMLINK_REFUSED (exit 2): a symbolic link at `path`, where one of our files goes. */
export function linkRefused(path: string): PitrError {
  return new PitrError(SYMLINK_REFUSED, `${path} is a symbolic link; refusing to follow it (someone else may have put it there)`, {
    hint: `look at where it points (ls -l ${path}), then remove it: rm ${path}`,
  });
}

/** Flags to append to one of our files, created 0600 if missing, never through a symbolic link. */
export const APPEND_NOFOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
/** Flags to create a new file of ours: fails if anything (even a dangling symbolic link) has the name. */
export const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Flags to replace the content of one of our files (created if missing), never through a symbolic link. */
export const REPLACE_NOFOLLOW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

/** Writes `data` to `path` with `flags` (one of the *_NOFOLLOW/CREATE_NEW sets), mode 0600; a symbolic link there throws SYMLINK_REFUSED. */
export async function writeOwnFile(path: string, data: string | Uint8Array, flags: number = REPLACE_NOFOLLOW, mode = 0o600): Promise<void> {
  let fh;
  try {
    fh = await fsp.open(path, flags, mode);
  } catch (err) {
    throw refusedLink(path, err);
  }
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** Reads one of our files as UTF-8, never through a symbolic link (SYMLINK_REFUSED, exit 2); other errors as fs throws them. */
export async function readOwnFile(path: string): Promise<string> {
  let fh;
  try {
    fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw refusedLink(path, err);
  }
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * What identifies one version of a file, written exactly as GNU stat prints
 * `stat -c '%d %i %s %.9Y %.9Z'` for it (no -L: a symbolic link is the link itself). The sh
 * front end of cmd_archiver compares a proof marker with that command's output, so the two
 * must agree to the character. Device and inode say which file object it is; size, mtime and
 * ctime say it is unchanged. ctime cannot be set from user space (utimensat sets it to now),
 * and it moves on every write, rename, link or chmod: a file edited and restored, or put back
 * under its name, never matches an old identity.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';

/** The stat format the sh front end runs; keep in step with bin/cmd_archiver. */
export const IDENTITY_FORMAT = '%d %i %s %.9Y %.9Z';

// %.9Y: seconds, a dot, nine digits of nanoseconds. Times before 1970 never occur here and are
// refused rather than formatted (GNU stat's spelling of them is not worth matching).
function seconds(ns: bigint): string | undefined {
  if (ns < 0n) return undefined;
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** The identity line of lstat results, or undefined when it cannot be written like GNU stat. */
export function formatIdentity(st: BigIntStats): string | undefined {
  const m = seconds(st.mtimeNs);
  const c = seconds(st.ctimeNs);
  if (m === undefined || c === undefined) return undefined;
  return `${st.dev} ${st.ino} ${st.size} ${m} ${c}`;
}

/** Identity of `path` (lstat), with whether it is a regular file; undefined when it cannot be read. */
export async function fileIdentity(path: string): Promise<{ line: string; regular: boolean } | undefined> {
  try {
    const st = await fsp.lstat(path, { bigint: true });
    const line = formatIdentity(st);
    return line === undefined ? undefined : { line, regular: st.isFile() };
  } catch {
    return undefined;
  }
}

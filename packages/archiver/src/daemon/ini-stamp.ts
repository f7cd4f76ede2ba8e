/** What identifies one version of the ini file, so that cmd_queue notices an edit (or a replacement). */
import { promises as fsp } from 'node:fs';
import { formatIdentity } from './file-identity.js';

/** Device, inode, size, mtime and ctime of `file` (following a symbolic link), or 'missing'. */
export async function iniStamp(file: string): Promise<string> {
  return fsp.stat(file, { bigint: true }).then(
    (s) => formatIdentity(s) ?? 'unknown',
    () => 'missing',
  );
}

/** What identifies one version of the ini file, so that cmd_queue notices an edit (or a replacement). */
import { promises as fsp } from 'node:fs';

/** inode, size and mtime of `file`, or 'missing'. */
export async function iniStamp(file: string): Promise<string> {
  return fsp.stat(file).then((s) => `${s.ino}:${s.size}:${s.mtimeMs}`, () => 'missing');
}

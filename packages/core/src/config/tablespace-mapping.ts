/** tablespace_mapping entries: OLDDIR=NEWDIR, as pg_basebackup --tablespace-mapping reads them. */
import { posix } from 'node:path';
import type { Parsed } from './values.js';

/** Where a tablespace of the master goes on this standby. */
export interface TablespaceMapping {
  readonly olddir: string;
  readonly newdir: string;
}

/** Splits `OLDDIR=NEWDIR` at the first '=' not written as `\=`; both must be absolute. */
export function parseTablespaceMapping(item: string): Parsed<TablespaceMapping> {
  const m = /^((?:[^=\\]|\\.)*)=(.*)$/s.exec(item);
  const unescape = (s: string): string => s.trim().replace(/\\=/g, '=');
  if (!m || /(?:^|[^\\])=/.test(m[2]!)) {
    return { error: `'${item}' is not OLDDIR=NEWDIR (write \\= for an = inside a directory name)` };
  }
  const olddir = unescape(m[1]!);
  const newdir = unescape(m[2]!);
  if (!posix.isAbsolute(olddir) || !posix.isAbsolute(newdir)) {
    return { error: `'${item}': both directories must be absolute (e.g. /srv/ts1=/data/ts1)` };
  }
  return { value: { olddir: posix.normalize(olddir), newdir: posix.normalize(newdir) } };
}

/**
 * l_archivedir read straight from the ini with the ini parser alone, so that the per-segment
 * cmd_archiver finds the socket without loading (and checking) the whole configuration. Anything
 * unusual (interpolation, no value) gives undefined and the caller takes the full, slow road; a
 * wrong answer only means no socket is found there.
 */
import { posix } from 'node:path';
import { DEFAULT_SECTION, parseIni } from '@pitrtools/core/config/ini';

/** l_archivedir as the loader would read it, or undefined when that needs the full loader. */
export function peekArchiveDir(text: string, file: string, home: string): string | undefined {
  const raw = parseIni(text, file).sections.get(DEFAULT_SECTION)?.entries.get('l_archivedir')?.value;
  if (raw === undefined || raw.includes('%') || raw.includes('\n')) return undefined;
  let p = raw.trim();
  if (p.startsWith('~/')) p = home + p.slice(1);
  if (!posix.isAbsolute(p)) return undefined;
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

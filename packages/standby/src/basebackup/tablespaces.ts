/**
 * Tablespaces on the standby: where each of the master's locations goes (tablespace_mapping,
 * OLDDIR=NEWDIR as pg_basebackup -T reads it: the whole location must match), and the
 * tablespace_map that pg_backup_stop returns, rewritten to the mapped locations: at start-up
 * PostgreSQL recreates pg_tblspc/<oid> symlinks from that file, so it must name local paths.
 */
import { parseTablespaceMapping, type TablespaceMapping } from '@pitrtools/core/config/tablespace-mapping';

/** One tablespace of the master (cmd_get_tablespaces()). */
export type Tablespace = {
  oid: string;
  name: string;
  /** Location on the master; '' or relative for in-place tablespaces (inside pg_tblspc). */
  location: string;
};

/** Parses the tablespace_mapping list (already validated by the config layer). */
export function parseMappings(items: readonly string[]): TablespaceMapping[] {
  return items.map((i) => {
    const m = parseTablespaceMapping(i);
    if ('error' in m) throw new Error(m.error);
    return m.value;
  });
}

/** True when the tablespace lives outside pg_tblspc (an absolute location). */
export function isExternal(ts: Tablespace): boolean {
  return ts.location.startsWith('/');
}

/** Where a master location lives on this standby. */
export function localLocation(location: string, mappings: readonly TablespaceMapping[]): string {
  const norm = location.replace(/\/+$/, '') || '/';
  return mappings.find((m) => m.olddir === norm)?.newdir ?? norm;
}

/**
 * tablespace_map text with each mapped location replaced; every other entry byte for byte.
 * Read as PostgreSQL's read_tablespace_map reads it: a backslash takes the next character
 * literally (pg_backup_stop of PostgreSQL 14-18 escapes \n, \r and \\ in locations), an unescaped \n
 * or \r ends an entry "OID LOCATION". A replaced location is escaped the same way.
 */
export function rewriteTablespaceMap(text: string, mappings: readonly TablespaceMapping[]): string {
  if (mappings.length === 0) return text;
  let out = '';
  let raw = '';
  let plain = '';
  let escaped = false;
  const flush = (end: string): void => {
    const m = /^(\d+) (.*)$/s.exec(plain);
    const mapped = m ? localLocation(m[2]!, mappings) : undefined;
    out += m && mapped !== m[2] ? `${m[1]} ${escapeMapLocation(mapped!)}${end}` : raw + end;
    raw = '';
    plain = '';
  };
  for (const ch of text) {
    if (!escaped && (ch === '\n' || ch === '\r')) {
      flush(ch);
    } else {
      raw += ch;
      if (!escaped && ch === '\\') escaped = true;
      else {
        plain += ch;
        escaped = false;
      }
    }
  }
  if (raw !== '') flush('');
  return out;
}

/** The entries of a tablespace_map (OID and real location, escapes undone), read as rewriteTablespaceMap reads them. */
export function readTablespaceMap(text: string): Array<{ oid: string; location: string }> {
  const out: Array<{ oid: string; location: string }> = [];
  let plain = '';
  let escaped = false;
  const flush = (): void => {
    const m = /^(\d+) (.*)$/s.exec(plain);
    if (m) out.push({ oid: m[1]!, location: m[2]! });
    plain = '';
  };
  for (const ch of text) {
    if (!escaped && (ch === '\n' || ch === '\r')) flush();
    else if (!escaped && ch === '\\') escaped = true;
    else {
      plain += ch;
      escaped = false;
    }
  }
  flush();
  return out;
}

/** A location as tablespace_map holds it: \n, \r and \\ preceded by a backslash. */
export function escapeMapLocation(location: string): string {
  return location.replace(/[\n\r\\]/g, (c) => `\\${c}`);
}

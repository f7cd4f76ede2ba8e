/**
 * Reading a libpq connection string, as Patroni hands one to a create_replica_method
 * (`--connstring=dbname=postgres user=replicator host=10.0.0.1 port=5432`). The rules are libpq's
 * (libpq-connect.html, "Keyword/Value Connection Strings", and conninfo_parse in fe-connect.c):
 * `key = value` pairs separated by whitespace; a value is either single-quoted (`\'` and `\\`
 * inside) or runs to the next unescaped whitespace, where a backslash escapes the next character
 * (Patroni's format_dsn escapes space, quote and backslash that way). The URI form
 * (`postgresql://user@host:port/db?k=v`) is read too.
 */
import { PitrError } from '../errors.js';

/** Keyword -> value of a connection string (keywords lower-case as libpq has them). */
export type Conninfo = Record<string, string>;

function bad(connstring: string, why: string): PitrError {
  return new PitrError('BAD_CONNINFO', `cannot read the connection string '${connstring}': ${why}`, {
    hint: 'give it as libpq keyword/value pairs (host=... port=...) or as a postgresql:// URI',
  });
}

/** Parses a keyword/value or URI connection string; throws PitrError BAD_CONNINFO (exit 2) for one libpq would refuse. */
export function parseConninfo(connstring: string): Conninfo {
  if (/^postgres(?:ql)?:\/\//.test(connstring)) return parseUri(connstring);
  const out: Conninfo = {};
  let i = 0;
  const s = connstring;
  const space = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
  while (i < s.length) {
    while (space(s[i])) i++;
    if (i >= s.length) break;
    const keyStart = i;
    while (i < s.length && s[i] !== '=' && !space(s[i])) i++;
    const key = s.slice(keyStart, i);
    while (space(s[i])) i++;
    if (s[i] !== '=') throw bad(connstring, `missing "=" after "${key}"`);
    i++;
    while (space(s[i])) i++;
    let value = '';
    if (s[i] === "'") {
      i++;
      for (;;) {
        if (i >= s.length) throw bad(connstring, `unterminated quoted value of "${key}"`);
        if (s[i] === '\\' && i + 1 < s.length) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        if (s[i] === "'") {
          i++;
          break;
        }
        value += s[i++];
      }
    } else {
      while (i < s.length && !space(s[i])) {
        if (s[i] === '\\' && i + 1 < s.length) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        value += s[i++];
      }
    }
    if (key === '') throw bad(connstring, 'a value without a keyword');
    out[key] = value;
  }
  return out;
}

function parseUri(connstring: string): Conninfo {
  let url: URL;
  try {
    url = new URL(connstring.replace(/^postgres(?:ql)?:/, 'http:'));
  } catch {
    throw bad(connstring, 'not a valid URI');
  }
  const out: Conninfo = {};
  if (url.hostname) out.host = decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (url.port) out.port = url.port;
  if (url.username) out.user = decodeURIComponent(url.username);
  if (url.password) out.password = decodeURIComponent(url.password);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db) out.dbname = db;
  for (const [k, v] of url.searchParams) out[k] = v;
  return out;
}

/**
 * The one server a connection string names: host (first of hostaddr/host) and port (default
 * 5432). Throws BAD_CONNINFO (exit 2) when it names none, a Unix socket directory, or several
 * hosts (a list is for libpq's failover, not for a copy taken from one server).
 */
export function conninfoServer(connstring: string): { host: string; port: number } {
  const c = parseConninfo(connstring);
  const host = c.host ?? c.hostaddr;
  if (host === undefined || host === '') throw bad(connstring, 'it names no host');
  if (host.includes(',')) throw bad(connstring, `it names several hosts (${host}); give exactly one`);
  if (host.startsWith('/')) throw bad(connstring, `its host ${host} is a Unix socket directory; the copy needs a host reachable over SSH`);
  const port = Number(c.port ?? '5432');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(connstring, `port '${c.port}' is not a TCP port`);
  return { host, port };
}

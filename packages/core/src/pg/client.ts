/**
 * PostgreSQL sessions (node-postgres). Connects directly (TCP or a unix socket directory) or through
 * a stream the SSH layer provides (a port forward to the master's PostgreSQL), and turns the
 * common failures into one clear line. Passwords come from ~/.pgpass (pg reads it) or the caller.
 */
import type { Duplex } from 'node:stream';
// Before pg: see the file (keeps pg's load from loading undici).
import { probeShim } from './skip-cloudflare-probe.js';
import pg from 'pg';
import { errorCode, errorMessage, PitrError } from '../errors.js';

if (probeShim) delete (globalThis as { navigator?: unknown }).navigator;

/** How to reach a server. `host` may be a socket directory (starts with '/'). */
export interface PgConnectOptions {
  host?: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** A stream factory as pg accepts it (e.g. from the SSH layer's port forward). */
  stream?: () => Duplex;
  applicationName?: string;
  connectTimeoutMs?: number;
  /** Shown in errors instead of host:port, e.g. "master db via ssh bitarena". */
  describe?: string;
}

/**
 * server_version_num as PostgreSQL names the release: 150018 -> "15.18", 180000 -> "18.0"; before
 * 10, 90624 -> "9.6.24" (the numbering of PostgreSQL's versioning policy, https://www.postgresql.org/support/versioning/).
 */
export function versionName(versionNum: number): string {
  const major = Math.floor(versionNum / 10000);
  if (major >= 10) return `${major}.${versionNum % 10000}`;
  return `${major}.${Math.floor(versionNum / 100) % 100}.${versionNum % 100}`;
}

/** A connected session; `versionNum` is server_version_num (150004, 180001 ...). */
export interface PgSession {
  readonly versionNum: number;
  readonly major: number;
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The first column of the first row, or undefined. */
  scalar<T = unknown>(sql: string, params?: unknown[]): Promise<T | undefined>;
  end(): Promise<void>;
  /** Resolves with the error when the connection is lost unexpectedly. */
  readonly lost: Promise<Error>;
}

/** Maps pg/socket errors to a PitrError with a stable code and a hint. */
export function translatePgError(err: unknown, where: string, user: string, database: string): PitrError {
  const code = errorCode(err);
  const msg = errorMessage(err);
  if (code === 'ECONNREFUSED' || code === 'ENOENT') {
    return new PitrError('PG_UNREACHABLE', `PostgreSQL at ${where} is not accepting connections (${msg})`, { cause: err });
  }
  if (code === '28P01' || code === '28000') {
    return new PitrError('PG_AUTH_FAILED', `PostgreSQL at ${where} refused user ${user} for database ${database}: ${msg}`, {
      cause: err,
      hint: `add a line to ~/.pgpass (mode 0600) for that user, or allow it in the server's pg_hba.conf`,
    });
  }
  if (code === '3D000') return new PitrError('PG_NO_DATABASE', `database ${database} does not exist at ${where}`, { cause: err });
  if (code === '57P03') return new PitrError('PG_STARTING', `PostgreSQL at ${where} is starting up or shutting down`, { cause: err });
  if (/timeout/i.test(msg)) return new PitrError('PG_TIMEOUT', `PostgreSQL at ${where} did not answer in time`, { cause: err });
  return new PitrError('PG_ERROR', `PostgreSQL at ${where}: ${msg}`, { cause: err });
}

/** Opens a session and reads server_version_num. */
export async function connectPg(o: PgConnectOptions): Promise<PgSession> {
  const where = o.describe ?? `${o.host ?? 'localhost'}:${o.port}`;
  const client = new pg.Client({
    host: o.host,
    port: o.port,
    user: o.user,
    database: o.database,
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.stream ? { stream: o.stream } : {}),
    application_name: o.applicationName ?? 'pitrtools',
    connectionTimeoutMillis: o.connectTimeoutMs ?? 10_000,
  });
  let markLost: (e: Error) => void = () => undefined;
  const lost = new Promise<Error>((resolve) => {
    markLost = resolve;
  });
  let ending = false;
  client.on('error', (e) => {
    if (!ending) markLost(e);
  });
  client.on('end', () => {
    if (!ending) markLost(new Error(`connection to ${where} closed`));
  });
  try {
    await client.connect();
  } catch (err) {
    ending = true;
    await client.end().catch(() => undefined);
    throw translatePgError(err, where, o.user, o.database);
  }
  const versionNum = Number((await client.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0]?.server_version_num);
  const run = async <T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> => {
    try {
      return (await client.query(sql, params)).rows as T[];
    } catch (err) {
      if (errorCode(err) && /^[0-9A-Z]{5}$/.test(errorCode(err)!))
        throw Object.assign(new PitrError('PG_QUERY_FAILED', `${where}: ${errorMessage(err)}`, { cause: err }), { sqlState: errorCode(err) });
      throw translatePgError(err, where, o.user, o.database);
    }
  };
  return {
    versionNum,
    major: Math.floor(versionNum / 10000),
    query: run,
    scalar: async <T>(sql: string, params?: unknown[]) => {
      const rows = await run(sql, params);
      const first = rows[0];
      return first === undefined ? undefined : (Object.values(first)[0] as T);
    },
    end: async () => {
      ending = true;
      await client.end().catch(() => undefined);
    },
    lost,
  };
}

/** SQLSTATE of a failed query (set by PgSession.query), if any. */
export function sqlState(err: unknown): string | undefined {
  const s = (err as { sqlState?: unknown } | undefined)?.sqlState;
  return typeof s === 'string' ? s : undefined;
}

/** Runs `fn` with a session that is always closed afterwards. */
export async function withPg<T>(o: PgConnectOptions, fn: (s: PgSession) => Promise<T>): Promise<T> {
  const s = await connectPg(o);
  try {
    return await fn(s);
  } finally {
    await s.end();
  }
}

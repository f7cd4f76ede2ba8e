/**
 * The local server of a data directory, read from postmaster.pid: is it running, which port,
 * which socket directory. No configuration needed, and it is what pg_ctl itself trusts.
 */
import { promises as fsp } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { errorCode } from '../errors.js';
import type { PgConnectOptions } from './client.js';

/** What postmaster.pid says, plus whether that pid is alive. */
export interface LocalServer {
  running: boolean;
  pid?: number;
  port?: number;
  socketDir?: string;
  listenAddress?: string;
  /** Line 8 of postmaster.pid (PostgreSQL 10+): starting, ready, stopping, standby. */
  status?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

/** Reads `pgdata/postmaster.pid`; a missing file or a dead pid means not running. */
export async function localServer(pgdata: string): Promise<LocalServer> {
  let text: string;
  try {
    text = await fsp.readFile(join(pgdata, 'postmaster.pid'), 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { running: false };
    throw err;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return { running: false };
  const port = Number(lines[3]);
  const socketDir = (lines[4] ?? '').trim();
  const listen = (lines[5] ?? '').trim();
  const status = (lines[7] ?? '').trim();
  return {
    running: alive(pid),
    pid,
    ...(Number.isInteger(port) && port > 0 ? { port } : {}),
    ...(socketDir ? { socketDir } : {}),
    ...(listen ? { listenAddress: listen } : {}),
    ...(status ? { status } : {}),
  };
}

/** True when `dir` looks like a PostgreSQL data directory (PG_VERSION and global/pg_control). */
export async function isDataDirectory(dir: string): Promise<boolean> {
  try {
    await fsp.access(join(dir, 'PG_VERSION'));
    await fsp.access(join(dir, 'global', 'pg_control'));
    return true;
  } catch {
    return false;
  }
}

/** Major version from `pgdata/PG_VERSION`, or undefined. */
export async function dataDirectoryMajor(dir: string): Promise<number | undefined> {
  try {
    const v = Number((await fsp.readFile(join(dir, 'PG_VERSION'), 'utf8')).trim());
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How our commands open a session on the local server of pgdata (`server` from localServer, running
 * on `port`): over its socket directory when postmaster.pid names one, as the OS user running us,
 * database postgres, 5 s to connect.
 */
export function localSessionOptions(server: Pick<LocalServer, 'socketDir'>, port: number, applicationName: string): PgConnectOptions {
  return {
    ...(server.socketDir !== undefined ? { host: server.socketDir } : {}),
    port,
    user: userInfo().username,
    database: 'postgres',
    connectTimeoutMs: 5000,
    applicationName,
  };
}

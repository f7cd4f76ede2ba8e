/**
 * The local PostgreSQL server of the standby: pg_ctl start/stop/restart (argument arrays, no
 * shell), waiting until it accepts connections in the wanted role, sessions through the socket
 * directory postmaster.pid names, and the FATAL lines of its log when start-up fails.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { locatePgBinaries, type PgBinaries } from '@pitrtools/core/pg/binaries';
import type { PgSession } from '@pitrtools/core/pg/client';
import { dataDirectoryMajor, localServer } from '@pitrtools/core/pg/local-server';
import { APPEND_NOFOLLOW, refusedLink } from '@pitrtools/core/fs/ownership';
import { runProcess } from '@pitrtools/core/proc';
import { DEFAULT_SERVER_LOG } from '../state-files.js';

/** The pg_ctl time limit for start and stop; our own wait takes over after it. */
const PG_CTL_TIMEOUT_S = 300;

/** Local server binaries of the copy's major version (PG_VERSION; it must match the master's). */
export async function localBinaries(config: StandbyConfig): Promise<PgBinaries> {
  const wantMajor = await dataDirectoryMajor(config.pgdata);
  return locatePgBinaries({ pg_ctl: config.pg_ctl, pg_bin: config.pg_bin, includepath: config.includepath, file: config.file, wantMajor });
}

/** The server log: the logfile key, else pgdata/pitrtools-server.log. */
export function serverLogPath(config: StandbyConfig): string {
  return config.logfile ?? join(config.pgdata, DEFAULT_SERVER_LOG);
}

/** Refuses (exit 1) when the local server runs; `what` completes "cannot ... while". */
export async function refuseIfRunning(pgdata: string, what: string): Promise<void> {
  const s = await localServer(pgdata);
  if (s.running) {
    throw new PitrError('SERVER_RUNNING', `cannot ${what} while the local PostgreSQL runs (pid ${s.pid}, ${pgdata})`, {
      hint: 'stop it first: cmd_standby -C <ini> -A stop',
    });
  }
}

async function pgCtl(bins: PgBinaries, args: string[], log: Logger): Promise<void> {
  const argv = [bins.pg_ctl, ...args];
  log.debug(`running ${argv.join(' ')}`);
  const r = await runProcess(argv, { timeoutMs: (PG_CTL_TIMEOUT_S + 30) * 1000 });
  if (r.spawnError) throw new PitrError('PG_CTL_FAILED', `cannot run ${bins.pg_ctl}: ${r.spawnError.message}`);
  if (r.code !== 0) {
    const why =
      (r.stderr.trim() || r.stdout.trim())
        .split('\n')
        .filter((l) => l !== '')
        .pop() ?? `exit ${r.code}`;
    throw new PitrError('PG_CTL_FAILED', `pg_ctl ${args[args.length - 1]} failed: ${why}`);
  }
}

/** Size of the log now, so that only what a start writes is read afterwards. */
export async function logOffset(path: string): Promise<number> {
  return fsp.stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** What the server wrote to its log since `offset` (at most the last 256 KiB). */
export async function readLogSince(path: string, offset: number): Promise<string> {
  try {
    const fh = await fsp.open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const from = Math.max(offset, size - 256 * 1024);
      const buf = Buffer.alloc(Math.max(0, size - from));
      await fh.read(buf, 0, buf.length, from);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** pg_ctl start with the log file; returns the log offset before the start. */
export async function startServer(config: StandbyConfig, bins: PgBinaries, log: Logger): Promise<number> {
  const logfile = serverLogPath(config);
  // pg_ctl opens the log with fopen("a"), which follows a link: create it ourselves first, never
  // through a link (SYMLINK_REFUSED, exit 2); pg_ctl then appends to our file.
  await (
    await fsp.open(logfile, APPEND_NOFOLLOW, 0o600).catch((err: unknown) => {
      throw refusedLink(logfile, err);
    })
  ).close();
  const offset = await logOffset(logfile);
  try {
    await pgCtl(bins, ['-D', config.pgdata, '-l', logfile, '-w', '-t', String(PG_CTL_TIMEOUT_S), 'start'], log);
  } catch (err) {
    const fatal = serverFatal(await readLogSince(logfile, offset));
    throw new PitrError('START_FAILED', `the local server did not start: ${fatal ?? errorMessage(err)}`, { hint: `see ${logfile}` });
  }
  return offset;
}

/** pg_ctl stop -m fast, waiting until it is down. */
export async function stopServer(config: StandbyConfig, bins: PgBinaries, log: Logger): Promise<void> {
  await pgCtl(bins, ['-D', config.pgdata, '-m', 'fast', '-w', '-t', String(PG_CTL_TIMEOUT_S), 'stop'], log);
}

/** pg_ctl restart -m fast (after a promotion with a new postgresql.conf). */
export async function restartServer(config: StandbyConfig, bins: PgBinaries, log: Logger): Promise<void> {
  await pgCtl(bins, ['-D', config.pgdata, '-l', serverLogPath(config), '-m', 'fast', '-w', '-t', String(PG_CTL_TIMEOUT_S), 'restart'], log);
}

// FATAL lines our own connection attempts cause while the server starts: not the reason it died.
const CONNECTION_NOISE =
  /the database system is (?:starting up|shutting down|not yet accepting connections|in recovery mode)|consistent recovery state has not been yet reached/i;

/** The last FATAL or PANIC message of a log excerpt that is not about a refused connection. */
export function serverFatal(text: string): string | undefined {
  const all = [...text.matchAll(/(?:FATAL|PANIC):\s+(.*)/g)].map((m) => m[1]!.trim()).filter((l) => !CONNECTION_NOISE.test(l));
  return all.pop();
}

/** A session to the local server through the socket directory of postmaster.pid. */
export async function connectLocal(config: StandbyConfig, timeoutMs = 5000): Promise<PgSession> {
  const s = await localServer(config.pgdata);
  if (!s.running || s.port === undefined) {
    throw new PitrError('SERVER_NOT_RUNNING', `the local PostgreSQL is not running (${config.pgdata})`, { hint: 'start it: cmd_standby -C <ini> -A start' });
  }
  const host = s.socketDir ?? (s.listenAddress && s.listenAddress !== '*' ? s.listenAddress.split(',')[0]!.trim() : '127.0.0.1');
  // Loaded here, not at start-up: -B and -I never talk to the local server and load pg later, in parallel with SSH.
  const { connectPg } = await import('@pitrtools/core/pg/client');
  return connectPg({
    host,
    port: s.port,
    user: config.master_db_user,
    database: config.master_db,
    applicationName: 'pitrtools',
    connectTimeoutMs: timeoutMs,
    describe: `local PostgreSQL (${config.pgdata})`,
  });
}

/** The role the server should reach before waitForServer returns. */
export type WantedRole = 'standby' | 'primary';

/**
 * Polls until the local server accepts connections in the wanted role (pg_is_in_recovery()).
 * Fails early when the postmaster dies, with the FATAL line of its log since `offset`.
 */
export async function waitForServer(config: StandbyConfig, want: WantedRole, offset: number, timeoutMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const logfile = serverLogPath(config);
  let last = 'not started';
  for (;;) {
    const state = await localServer(config.pgdata);
    if (!state.running) {
      const text = await readLogSince(logfile, offset);
      throw new PitrError('SERVER_DIED', `the local server stopped: ${serverFatal(text) ?? 'no FATAL line in its log'}`, { hint: `see ${logfile}` });
    }
    try {
      const s = await connectLocal(config, 2000);
      try {
        const inRecovery = await s.scalar<boolean>('SELECT pg_is_in_recovery()');
        if ((want === 'standby') === inRecovery) return;
        last = inRecovery ? 'still in recovery' : 'not in recovery';
      } finally {
        await s.end();
      }
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() > deadline) {
      throw new PitrError(
        'SERVER_WAIT_TIMEOUT',
        `the local server did not become ${want === 'standby' ? 'a standby' : 'read-write'} within ${Math.round(timeoutMs / 1000)} s (${last})`,
        { hint: `see ${logfile}` },
      );
    }
    log.debug(`waiting for the local server: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What `postgres -C` said: the value, or the reason it refused (its FATAL line). */
export type SettingAnswer = { value: string } | { refused: string };

/**
 * `postgres -C <name> -D <pgdata>`: the value the server would use, read from its configuration
 * files (`configFile` instead of pgdata/postgresql.conf) with `settings` given as -c, as at start-up;
 * works while the server runs. Throws PG_SETTING_FAILED when postgres cannot be run at all.
 */
export async function serverSetting(
  bins: PgBinaries,
  pgdata: string,
  name: string,
  o: { configFile?: string | undefined; settings?: Record<string, string> } = {},
): Promise<SettingAnswer> {
  const argv = [bins.postgres, '-C', name, '-D', pgdata];
  if (o.configFile !== undefined) argv.push('-c', `config_file=${o.configFile}`);
  for (const [k, v] of Object.entries(o.settings ?? {})) argv.push('-c', `${k}=${v}`);
  const r = await runProcess(argv, { timeoutMs: 60_000 });
  if (r.spawnError) throw new PitrError('PG_SETTING_FAILED', `cannot run ${bins.postgres}: ${r.spawnError.message}`);
  if (r.code === 0) return { value: r.stdout.replace(/\n$/, '') };
  const why = /(?:FATAL|ERROR):\s+(.*)/.exec(r.stderr)?.[1]?.trim() ?? (r.stderr.trim() || `exit ${r.code}`);
  return { refused: why };
}

/**
 * The one way cmd_standby reaches the master: SSH to master_public_ip, and PostgreSQL through that
 * connection (a forward to master_local_ip:port as seen from the master), so only SSH needs to be
 * open between the hosts, as with the original. Passwords come from ~/.pgpass (pg reads it).
 */
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { resolveMaster } from '@pitrtools/core/config/index';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { versionName, type PgSession } from '@pitrtools/core/pg/client';
import { SshErrorCode, connectSsh, isSshError, pgStreamFactory, type SshSession, type SshTarget } from '@pitrtools/core/ssh/index';

/** An open SSH connection to the master and a database session through it. */
export interface MasterLink {
  ssh: SshSession;
  pg: PgSession;
  /** For messages: "master PostgreSQL 127.0.0.1:5432 via ssh postgres@db1:22". */
  where: string;
  close(): Promise<void>;
}

/** What a link is for; the application_name tells sessions apart on the master. */
export interface LinkOptions {
  applicationName: string;
  /** Overrides ssh_timeout (e.g. a short probe for --check). */
  timeoutMs?: number;
}

/** The master as messages name it: "PostgreSQL 127.0.0.1:5432 via ssh postgres@db1:22" (--follow, --check, --status, -P --json). */
export function describeMaster(pgHost: string, pgPort: number, sshEndpoint: string): string {
  return `PostgreSQL ${pgHost}:${pgPort} via ssh ${sshEndpoint}`;
}

/** core's pg client, loaded on first use (see openMasterLink). */
function loadPgClient(): Promise<typeof import('@pitrtools/core/pg/client')> {
  return import('@pitrtools/core/pg/client');
}

/** The SSH target of the master as the SSH layer wants it. */
export function masterSshTarget(config: StandbyConfig, log?: Logger, timeoutMs?: number): SshTarget {
  return {
    ...resolveMaster(config),
    ...(timeoutMs !== undefined ? { connectTimeoutMs: timeoutMs } : {}),
    ...(config.ssh_debug && log ? { debug: (line: string) => log.debug(`ssh: ${line}`) } : {}),
  };
}

/** Connects SSH, then PostgreSQL through it; on failure nothing is left open. */
export async function openMasterLink(config: StandbyConfig, log: Logger, o: LinkOptions): Promise<MasterLink> {
  const target = masterSshTarget(config, log, o.timeoutMs);
  log.debug(`connecting to ${target.user}@${target.host}:${target.port} (ssh)`);
  const connecting = connectSsh(target, log);
  // pg (and the undici it pulls in) loads while the SSH handshake waits for the network.
  const pgClient = loadPgClient();
  pgClient.catch(() => undefined);
  const ssh = await connecting;
  const host = config.master_local_ip;
  const where = `master ${describeMaster(host, config.port, ssh.endpoint)}`;
  try {
    const { connectPg } = await pgClient;
    const pg = await connectPg({
      host,
      port: config.port,
      user: config.master_db_user,
      database: config.master_db,
      stream: pgStreamFactory(ssh, host, config.port),
      applicationName: o.applicationName,
      describe: where,
      ...(o.timeoutMs !== undefined ? { connectTimeoutMs: o.timeoutMs } : {}),
    });
    log.debug(`connected to ${where} (server_version_num ${pg.versionNum})`);
    return {
      ssh,
      pg,
      where,
      close: async () => {
        await pg.end();
        await ssh.close();
      },
    };
  } catch (err) {
    await ssh.close();
    throw explainForwardFailure(err, `${host}:${config.port}`, ssh.endpoint);
  }
}

// sshd reached the master but nothing listens at master_local_ip:port: say that, once, plainly.
function explainForwardFailure(err: unknown, addr: string, endpoint: string): unknown {
  const cause = err instanceof PitrError ? err.cause : undefined;
  if (!isSshError(cause, SshErrorCode.FORWARD_FAILED)) return err;
  const why = cause.message.split(': ').pop() ?? cause.message;
  return new PitrError('PG_UNREACHABLE', `the master's PostgreSQL does not accept connections at ${addr} (as seen from ${endpoint}): ${why}`, {
    cause: err,
    hint: 'is PostgreSQL running on the master, and do port and master_local_ip match its port and listen_addresses?',
  });
}

/** Runs `fn` with a link that is always closed afterwards. */
export async function withMasterLink<T>(config: StandbyConfig, log: Logger, o: LinkOptions, fn: (l: MasterLink) => Promise<T>): Promise<T> {
  const link = await openMasterLink(config, log, o);
  try {
    return await fn(link);
  } finally {
    await link.close();
  }
}

/** Whether the master's PostgreSQL answers, and how we know. */
export interface MasterProbe {
  answers: boolean;
  /** One line: what answered, or why nothing did. */
  detail: string;
}

/**
 * Asks the master's PostgreSQL for `SELECT 1` through SSH; when SSH itself fails, also tries
 * master_public_ip:port directly: a server that refuses our login still answers, and a dead
 * sshd must not make a live master look dead to -F999.
 */
export async function probeMaster(config: StandbyConfig, log: Logger, timeoutMs?: number): Promise<MasterProbe> {
  let sshReason: string;
  try {
    const detail = await withMasterLink(config, log, { applicationName: 'pitrtools ping', ...(timeoutMs !== undefined ? { timeoutMs } : {}) }, async (l) => {
      await l.pg.query('SELECT 1');
      return `${l.where} answered (PostgreSQL ${versionName(l.pg.versionNum)})`;
    });
    return { answers: true, detail };
  } catch (err) {
    if (serverAnswered(err)) return { answers: true, detail: `${errorMessage(err)} (the server is up)` };
    if (err instanceof PitrError && err.code.startsWith('PG_')) return { answers: false, detail: errorMessage(err) };
    sshReason = errorMessage(err);
  }
  const direct = `${config.master_public_ip}:${config.port}`;
  const { connectPg } = await loadPgClient();
  try {
    const s = await connectPg({
      host: config.master_public_ip,
      port: config.port,
      user: config.master_db_user,
      database: config.master_db,
      applicationName: 'pitrtools ping',
      connectTimeoutMs: timeoutMs ?? 5000,
      describe: `PostgreSQL at ${direct}`,
    });
    await s.end();
    return { answers: true, detail: `SSH failed (${sshReason}) but PostgreSQL at ${direct} answered directly` };
  } catch (err) {
    if (serverAnswered(err)) {
      return { answers: true, detail: `SSH failed (${sshReason}) but PostgreSQL at ${direct} answered directly: ${errorMessage(err)}` };
    }
    return { answers: false, detail: `SSH failed (${sshReason}); PostgreSQL at ${direct} does not answer directly either (${errorMessage(err)})` };
  }
}

// Refused logins, missing databases, a server starting up: all answers from a running postmaster.
function serverAnswered(err: unknown): boolean {
  return err instanceof PitrError && ['PG_AUTH_FAILED', 'PG_NO_DATABASE', 'PG_STARTING', 'PG_QUERY_FAILED'].includes(err.code);
}

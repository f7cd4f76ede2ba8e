/**
 * A master, an sshd and the files of one standby for cmd_standby's end-to-end tests. The master
 * archives into the standby's archivedir either with this repository's cmd_archiver (over the same
 * sshd, as in production) or with a plain atomic cp; the standby's ini points at the real sshd;
 * commands are called as functions (with a recording context) or as the real binary.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type StandbyConfig } from '../../packages/core/src/config/index.js';
import { memoryLogger } from '../../packages/core/src/log.js';
import type { Ctx } from '../../packages/standby/src/context.js';
import { onCleanup } from './cleanup.js';
import { CMD_ARCHIVER } from './archiver-env.js';
import { freeTcpPort, startPostgres, switchWal, waitFor, type PgCluster } from './postgres.js';
import { startSshd, type SshdHandle } from './sshd.js';
import { runProgram } from './run.js';
import { makeTempDir } from './tmp.js';

const BIN = new URL('../../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;
/** The sh front end that `cmd_archiver -I` prints as the archive_command. */
const ARCHIVE_COMMAND = new URL('../../packages/archiver/bin/cmd_archiver', import.meta.url).pathname;

/** What one test file shares. */
export interface StandbyEnv {
  master: PgCluster;
  sshd: SshdHandle;
  /** Temp dir holding the standby's files. */
  dir: string;
  archivedir: string;
  pgdata: string;
  ini: string;
  /** The standby's port and socket dir (from its pg_conf). */
  port: number;
  socketDir: string;
  logfile: string;
}

/** Options of standbyEnv. */
export interface EnvOptions {
  /** Extra ini lines. */
  ini?: Record<string, string>;
  /** Extra postgresql.conf settings of the master. */
  masterConf?: Record<string, string | number>;
  /** archive_command: cmd_archiver shipping over SSH (default), or a local atomic cp. */
  archiver?: 'cmd_archiver' | 'cp';
  /** A subdirectory (any name, e.g. with a quote and backslashes) holding archivedir and the standby's ini. */
  nest?: string;
  /** Extra initdb arguments of the master (e.g. --no-data-checksums on 18). */
  initdbArgs?: string[];
}

/** Starts a master that archives into a fresh archivedir, an sshd, and writes the standby's ini. */
export async function standbyEnv(o: EnvOptions = {}): Promise<StandbyEnv> {
  const dir = makeTempDir('pitr-standby-').path;
  const home = o.nest !== undefined ? join(dir, o.nest) : dir;
  if (o.nest !== undefined) mkdirSync(home, { mode: 0o700 });
  const archivedir = join(home, 'archive');
  mkdirSync(archivedir, { mode: 0o700 });
  const sshd = await startSshd();
  const parent = join(dir, 'master');
  const archiverIni = join(dir, 'cmd_archiver.ini');
  const queue = join(dir, 'queue');
  const viaArchiver = (o.archiver ?? 'cmd_archiver') === 'cmd_archiver';
  if (viaArchiver) {
    // One machine: the "slave" the archiver ships to is this host, through the same sshd.
    writeFileSync(
      archiverIni,
      [
        '[DEFAULT]',
        `pgdata: ${join(parent, 'data')}`,
        `l_archivedir: ${queue}`,
        `r_archivedir: ${archivedir}`,
        `slaves: 127.0.0.1:${sshd.port}`,
        `ssh_identity: ${sshd.clientKey}`,
        `ssh_known_hosts: ${sshd.knownHostsFile}`,
        'ssh_timeout: 5',
        'queue_wait: 1',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  }
  const master = await startPostgres({
    name: 'master',
    parent,
    ...(o.initdbArgs ? { initdbArgs: o.initdbArgs } : {}),
    conf: {
      archive_mode: 'on',
      archive_command: viaArchiver
        ? `'${ARCHIVE_COMMAND} -C ${archiverIni} -F %p'`
        : // Atomic, so the standby never restores a half-written segment.
          `'test ! -f ${archivedir}/%f && cp %p ${archivedir}/.%f.tmp && mv ${archivedir}/.%f.tmp ${archivedir}/%f'`,
      max_wal_senders: 10,
      ...o.masterConf,
    },
  });
  if (viaArchiver) {
    // cmd_archiver starts a cmd_queue daemon; it ends with the postmaster, but do not wait for that.
    onCleanup(
      'cmd_queue of the master',
      () => killQueue(queue),
      () => killQueue(queue),
    );
    const init = spawnSync(process.execPath, [CMD_ARCHIVER, '-C', archiverIni, '-I'], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`cmd_archiver -I failed: ${init.stdout}${init.stderr}`);
  }
  const port = await freeTcpPort();
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir, { mode: 0o700 });
  const confDir = join(dir, 'conf');
  mkdirSync(confDir, { mode: 0o700 });
  writeStandbyConfFiles(confDir, port, socketDir);
  const pgdata = join(dir, 'data');
  const logfile = join(dir, 'standby.log');
  const ini = join(home, 'cmd_standby.ini');
  const env: StandbyEnv = { master, sshd, dir, archivedir, pgdata, ini, port, socketDir, logfile };
  // The standby's server is started by the commands under test (pg_ctl through -S, -F999, -R):
  // stop whatever runs in pgdata before its directory goes.
  onCleanupStandby(pgdata, archivedir, master.bindir);
  writeIni(env, {
    pg_conf: join(confDir, 'postgresql.conf'),
    pg_hba_conf: join(confDir, 'pg_hba.conf'),
    ...o.ini,
  });
  return env;
}

/** SIGKILL to the cmd_queue daemon whose l_archivedir is `queue`, if one runs. */
export function killQueue(queue: string): void {
  try {
    process.kill(Number(readFileSync(join(queue, '.cmd_queue.pid'), 'utf8').trim()), 'SIGKILL');
  } catch {
    // not running
  }
}

/** The standby's pg_conf and pg_hba_conf in `confDir`: `port`, the socket in `socketDir`, `conf` lines added (e.g. listen_addresses). */
export function writeStandbyConfFiles(confDir: string, port: number, socketDir: string, conf: Record<string, string> = {}): void {
  const settings: Record<string, string> = {
    port: String(port),
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${socketDir}'`,
    shared_buffers: '32MB',
    log_line_prefix: "'%m [%p] '",
    logging_collector: 'off',
    wal_level: 'replica',
    max_wal_senders: '10',
    // A standby that found nothing to restore asks again after this (PostgreSQL's default: 5 s).
    // The tests wait for rows restored from the archive many times per file and major.
    wal_retrieve_retry_interval: "'1s'",
    ...conf,
  };
  writeFileSync(
    join(confDir, 'postgresql.conf'),
    `${Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  writeFileSync(
    join(confDir, 'pg_hba.conf'),
    'local all all trust\nhost all all 127.0.0.0/8 trust\nlocal replication all trust\nhost replication all 127.0.0.0/8 trust\n',
  );
}

/**
 * The standby's server is started by the commands under test (pg_ctl through -S, -F999, -R):
 * registers stopping whatever runs in pgdata (and its WAL receiver) before its directory goes.
 */
export function onCleanupStandby(pgdata: string, archivedir: string, bindir: string): void {
  const stop = (): void => {
    // The WAL receiver (wal_receiver: on) runs detached with pg_receivewal in its process group.
    try {
      process.kill(-Number(readFileSync(join(archivedir, '.receivewal', 'supervisor.pid'), 'utf8').trim()), 'SIGKILL');
    } catch {
      /* none */
    }
    if (existsSync(join(pgdata, 'postmaster.pid'))) spawnSync(join(bindir, 'pg_ctl'), ['-D', pgdata, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
  };
  onCleanup('the standby server', stop, stop);
}

/** (Re)writes the standby's ini with the base settings plus `extra`. */
export function writeIni(env: StandbyEnv, extra: Record<string, string> = {}): void {
  const { master, sshd } = env;
  const lines = {
    master_public_ip: '127.0.0.1',
    user: sshd.user,
    port: String(master.port),
    master_local_ip: '127.0.0.1',
    ssh_port: String(sshd.port),
    ssh_identity: sshd.clientKey,
    ssh_known_hosts: sshd.knownHostsFile,
    ssh_timeout: '5',
    pgdata: env.pgdata,
    archivedir: env.archivedir,
    pg_ctl: join(master.bindir, 'pg_ctl'),
    logfile: env.logfile,
    rsync_threads: '3',
    ...extra,
  };
  writeFileSync(
    env.ini,
    `[DEFAULT]\n${Object.entries(lines)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
}

/** A context for calling commands directly (they return their results; cli/results.ts words them); `log` collects stderr. */
export function ctxFor(env: Pick<StandbyEnv, 'ini'>): Ctx & { log: ReturnType<typeof memoryLogger>; config: StandbyConfig } {
  const { config } = loadConfig(env.ini, 'standby');
  return { config, log: memoryLogger(true) };
}

/** Result of running the real binary. */
export interface CmdResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs packages/standby/bin/cmd_standby.js with args (as PostgreSQL or a person would). */
export function runCmd(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CmdResult> {
  // No deadline of its own beyond the rig's default: -B and -F999 under test may take minutes.
  return runProgram([process.execPath, BIN, ...args], { ...opts, timeoutMs: 900_000 });
}

/** Installs the helper functions (sql/cmd_standby.sql) on the master, then runs `sql` there in the same session. */
export async function prepareMaster(env: { master: PgCluster }, ...sql: string[]): Promise<void> {
  const { connectPg } = await import('../../packages/core/src/pg/client.js');
  const { installHelpers } = await import('../../packages/core/src/pg/helpers.js');
  const s = await connectPg({ host: env.master.socketDir, port: env.master.port, user: env.master.user, database: 'postgres' });
  try {
    await installHelpers(s);
    for (const q of sql) await s.query(q);
  } finally {
    await s.end();
  }
}

/** -I and -B of the standby, called as functions; returns the context they ran with. */
export async function initAndCopy(env: StandbyEnv): Promise<ReturnType<typeof ctxFor>> {
  const [{ initStandby }, { basebackup }] = await Promise.all([
    import('../../packages/standby/src/commands/init.js'),
    import('../../packages/standby/src/commands/basebackup.js'),
  ]);
  const ctx = ctxFor(env);
  await initStandby(ctx);
  await basebackup(ctx);
  return ctx;
}

/** What a query to a standby's server needs: its socket, port, and the user (the master's). */
export type StandbyTarget = Pick<StandbyEnv, 'socketDir' | 'port'> & { master: Pick<PgCluster, 'user'> };

/** A client of the standby's server through its socket. */
export async function standbyQuery<T = Record<string, unknown>>(env: StandbyTarget, sql: string, params?: unknown[]): Promise<T[]> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ host: env.socketDir, port: env.port, user: env.master.user, database: 'postgres' });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Waits until `sql` on the standby returns a first column equal to `want`. */
export async function waitOnStandby(env: StandbyTarget, what: string, sql: string, want: unknown, ms = 60_000): Promise<void> {
  await waitFor(
    what,
    async () => {
      const rows = await standbyQuery(env, sql);
      return rows.length > 0 && Object.values(rows[0]!)[0] === want;
    },
    ms,
    200,
  );
}

/** Waits until the master's archiver has archived everything up to the current segment. */
export async function switchAndWaitArchived(master: PgCluster): Promise<string> {
  const seg = await switchWal(master);
  await waitFor(
    `archiving of ${seg}`,
    async () => {
      const last = String(await master.scalar('SELECT last_archived_wal FROM pg_stat_archiver'));
      return last >= seg;
    },
    60_000,
    100,
  );
  return seg;
}

/**
 * A second standby of the master, streaming from it, to be the source of -B from a standby: a
 * low-level copy of the master's data directory (helpers included, so install them first) with
 * backup_label, standby.signal and primary_conninfo, started by the rig on its own port.
 */
export async function startSourceStandby(env: StandbyEnv): Promise<PgCluster> {
  const dir = makeTempDir('pitr-source-standby-').path;
  const data = join(dir, 'data');
  const c = await env.master.client();
  try {
    await c.query("SELECT cmd_backup_start('pitrtools test rig: source standby', true)");
    // Not pg_wal's segments (streaming brings them) nor the master's pid files.
    cpSync(env.master.pgdata, data, { recursive: true, filter: (src) => !/\/(postmaster\.pid|postmaster\.opts)$/.test(src) && !src.includes('/pg_wal/') });
    mkdirSync(join(data, 'pg_wal', 'archive_status'), { recursive: true, mode: 0o700 });
    const stop = (await c.query<{ labelfile: string }>('SELECT labelfile FROM cmd_backup_stop(false)')).rows[0]!;
    writeFileSync(join(data, 'backup_label'), stop.labelfile);
  } finally {
    await c.end();
  }
  writeFileSync(join(data, 'standby.signal'), '');
  return startPostgres({
    name: 'source-standby',
    parent: dir,
    pgdata: data,
    conf: { hot_standby: 'on', primary_conninfo: `'host=${env.master.socketDir} port=${env.master.port} user=${env.master.user} application_name=source'` },
  });
}

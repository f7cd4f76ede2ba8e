/**
 * -F999 with archiver_config: the promoted server ships its WAL at once. Before the promotion the
 * archiver ini is loaded and checked and archive_mode must already be on (it only changes with a
 * restart); after it, `cmd_archiver -I` runs where the queues do not exist yet (spawned: cmd_standby
 * never imports the archiver), and archive_command is set with ALTER SYSTEM + pg_reload_conf().
 */
import { existsSync, promises as fsp, realpathSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, resolveSlaves, type ArchiverConfig, type StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError, errorCode, errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { installedCommand } from '@pitrtools/core/fs/installed-command';
import { archiveCommandValue } from '@pitrtools/core/pg/archive-command';
import { parseConfLine } from '@pitrtools/core/pg/conf-value';
import type { PgSession } from '@pitrtools/core/pg/client';
import { runProcess } from '@pitrtools/core/proc';

/** The sh front end installed with this cmd_standby (the root package holds both programs). */
const SIBLING = fileURLToPath(new URL('../../../archiver/bin/cmd_archiver', import.meta.url));

/** What -F999 needs to turn archiving on after the promotion. */
export interface NewMasterArchiving {
  /** archiver_config, absolute. */
  ini: string;
  archiver: ArchiverConfig;
  /** The cmd_archiver front end, its real path (as `cmd_archiver -I` prints it). */
  frontEnd: string;
}

function configError(config: StandbyConfig, key: string, message: string, hint: string): PitrError {
  return new PitrError('ARCHIVER_CONFIG', `${config.file}: ${key} ${message}`, { hint });
}

/** The cmd_archiver key, else the sibling install, else `cmd_archiver` on PATH; its real path. Throws ARCHIVER_CONFIG (exit 2) when none exists. */
export function findCmdArchiver(config: StandbyConfig): string {
  const candidates =
    config.cmd_archiver !== undefined
      ? [config.cmd_archiver]
      : [
          SIBLING,
          ...(process.env.PATH ?? '')
            .split(delimiter)
            .filter((d) => d.startsWith('/'))
            .map((d) => join(d, 'cmd_archiver')),
        ];
  for (const c of candidates) if (existsSync(c)) return realpathSync(c);
  throw configError(
    config,
    'cmd_archiver',
    `${config.cmd_archiver !== undefined ? `${config.cmd_archiver} does not exist` : 'is not set and no cmd_archiver is installed beside cmd_standby or on PATH'}`,
    'install pitrtools on this host (npm install -g .) or set cmd_archiver to the path of the cmd_archiver front end',
  );
}

/**
 * Loads and checks archiver_config (undefined when the key is not set). Throws ARCHIVER_CONFIG
 * (exit 2) naming the file and key when it cannot be loaded, names no slave, or has another pgdata.
 */
export function loadNewMasterArchiving(config: StandbyConfig): NewMasterArchiving | undefined {
  if (config.archiver_config === undefined) return undefined;
  const ini = resolve(config.archiver_config);
  let archiver: ArchiverConfig;
  try {
    archiver = loadConfig(ini, 'archiver').config;
  } catch (err) {
    throw configError(
      config,
      'archiver_config',
      `names ${ini}, which cmd_archiver cannot use: ${errorMessage(err)}`,
      `fix ${ini} (cmd_archiver -C ${ini} checks it) or remove archiver_config`,
    );
  }
  if (resolve(archiver.pgdata) !== resolve(config.pgdata)) {
    throw configError(
      config,
      'archiver_config',
      `names ${ini}, whose pgdata is ${archiver.pgdata}, not this standby's pgdata ${config.pgdata}`,
      `set pgdata: ${config.pgdata} in ${ini}`,
    );
  }
  if (resolveSlaves(archiver, () => true).length === 0) {
    throw configError(config, 'archiver_config', `names ${ini}, which lists no slaves`, `list the other standbys in the slaves key of ${ini}`);
  }
  return { ini, archiver, frontEnd: findCmdArchiver(config) };
}

/** Throws ARCHIVE_MODE_OFF (exit 2) when `mode` (the server's archive_mode after the promotion) is off. */
export function requireArchiveMode(config: StandbyConfig, mode: string): void {
  if (mode !== 'off') return;
  const file = config.pg_conf_failover !== undefined ? 'pg_conf_failover' : config.pg_conf !== undefined ? 'pg_conf' : `${config.pgdata}/postgresql.conf`;
  throw new PitrError(
    'ARCHIVE_MODE_OFF',
    `refusing to fail over: archiver_config is set but archive_mode is off in this server's configuration, and it changes only with a restart; nothing was promoted`,
    {
      hint: `set archive_mode = on in ${file} (a standby does not archive until it is promoted), restart the standby (-A stop, -S), then run -F999 again`,
    },
  );
}

/** Runs `cmd_archiver -C ini -I` unless l_archivedir already holds something; returns the archive_command line -I printed, if it ran. Throws ARCHIVER_INIT_FAILED (exit 1). */
export async function initQueues(a: NewMasterArchiving, log: Logger): Promise<string | undefined> {
  const dir = a.archiver.l_archivedir;
  const entries = await fsp.readdir(dir).catch((err: unknown) => (errorCode(err) === 'ENOENT' ? [] : Promise.reject(err)));
  if (entries.length > 0) {
    log.info(`the queues in ${dir} exist: not running cmd_archiver -I`);
    return undefined;
  }
  log.info(`running ${a.frontEnd} -C ${a.ini} -I`);
  const r = await runProcess([a.frontEnd, '-C', a.ini, '-I'], { timeoutMs: 120_000 });
  if (r.spawnError || r.timedOut || r.code !== 0) {
    const why = r.spawnError?.message ?? (r.timedOut ? 'did not finish within 120 s' : `exit ${r.code}`);
    throw new PitrError('ARCHIVER_INIT_FAILED', `cmd_archiver -C ${a.ini} -I failed (${why}): ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`, {
      hint: `run cmd_archiver -C ${a.ini} -I by hand, then ALTER SYSTEM SET archive_command as it says and SELECT pg_reload_conf()`,
    });
  }
  const line = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('archive_command'));
  const parsed = line === undefined ? undefined : parseConfLine(line);
  return parsed?.kind === 'setting' ? parsed.value : undefined;
}

/**
 * Sets archive_command on the (promoted) server with ALTER SYSTEM and reloads; returns the value.
 * `printed` is what -I printed; it must equal ours (one definition in core), else ARCHIVER_INIT_FAILED.
 */
export async function enableArchiving(s: PgSession, a: NewMasterArchiving, printed: string | undefined): Promise<string> {
  // -I names the front end as installed (the command on PATH when it is this installation: core's
  // installedCommand); either spelling of the same file is ours.
  const value = archiveCommandValue(installedCommand('cmd_archiver', a.frontEnd).path, a.ini);
  if (printed !== undefined && printed !== value && printed !== archiveCommandValue(a.frontEnd, a.ini)) {
    throw new PitrError('ARCHIVER_INIT_FAILED', `cmd_archiver -I printed archive_command '${printed}', not '${value}'; archiving was not turned on`, {
      hint: `set cmd_archiver in the ini to the front end ${a.frontEnd} names, or ALTER SYSTEM SET archive_command by hand`,
    });
  }
  // ALTER SYSTEM takes no parameters: an escape string literal reads the same whatever standard_conforming_strings says.
  const line = printed ?? value;
  await s.query(`ALTER SYSTEM SET archive_command = E'${line.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`);
  await s.query('SELECT pg_reload_conf()');
  return line;
}

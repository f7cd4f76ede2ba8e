/**
 * Writing what a standby start needs into the data directory: the configuration files (copied,
 * or a stub that points at them with no_copy_conf), our settings file and the include line for
 * it, the replication passfile, and the signal file that picks the recovery mode.
 */
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError, errorCode, errorMessage } from '@pitrtools/core/errors';
import { copyFileAtomic, fsyncDir, writeFileAtomic } from '@pitrtools/core/fs/atomic';
import { installedCommand } from '@pitrtools/core/fs/installed-command';
import {
  PASSFILE,
  SETTINGS_FILE,
  passfileLine,
  renderSettings,
  renderStubConf,
  withIncludeLine,
  type SelfInvocation,
  type SettingsMode,
  type StreamingSettings,
} from './render.js';
import { neutraliseAutoConf, type DisabledLine } from './inherited-settings.js';

/** packages/standby/bin/cmd_standby.js, from src/ (tsx) and dist/ alike. */
const BIN_SCRIPT = fileURLToPath(new URL('../../bin/cmd_standby.js', import.meta.url));

/**
 * How PostgreSQL runs us: this node, our bin script (by the command npm put on PATH when that is
 * this installation, so the line survives an upgrade), the ini file by absolute path.
 */
export function selfInvocation(iniPath: string): SelfInvocation {
  return { node: process.execPath, script: installedCommand('cmd_standby', BIN_SCRIPT).path, ini: resolve(iniPath) };
}

/** The source checkout our bin script lies in (a clone whose removal would stop recovery), or undefined for an installed copy. */
export function selfSourceTree(): string | undefined {
  return installedCommand('cmd_standby', BIN_SCRIPT).sourceTree;
}

/** Writes pgdata/pitrtools.conf atomically; a value that cannot be quoted safely is refused. */
export async function writeSettings(pgdata: string, mode: SettingsMode): Promise<void> {
  let text: string;
  try {
    text = renderSettings(mode, new Date().toISOString());
  } catch (err) {
    // A value refused by the quoting keeps its own code (BAD_CONF_VALUE, exit 2) and hint.
    if (err instanceof PitrError) throw new PitrError(err.code, `cannot write ${SETTINGS_FILE}: ${err.message}`, err.hint ? { hint: err.hint } : {});
    throw new PitrError('BAD_SETTING', `cannot write ${SETTINGS_FILE}: ${errorMessage(err)}`);
  }
  await writeFileAtomic(join(pgdata, SETTINGS_FILE), text);
}

/** Which configuration files to put in place. */
export type ConfSet = 'standby' | 'failover';

/** What installConfFiles changed. */
export interface ConfChange {
  conf: boolean;
  hba: boolean;
}

/** Copies (or, with no_copy_conf, points at) the configured files, then makes sure our settings are included. */
export async function installConfFiles(config: StandbyConfig, set: ConfSet): Promise<ConfChange> {
  const conf = set === 'standby' ? config.pg_conf : config.pg_conf_failover;
  const hba = set === 'standby' ? config.pg_hba_conf : config.pg_hba_conf_failover;
  const confPath = join(config.pgdata, 'postgresql.conf');
  const change = { conf: conf !== undefined, hba: hba !== undefined };
  try {
    if (config.no_copy_conf && conf !== undefined) {
      await fsp.access(conf);
      if (hba !== undefined) await fsp.access(hba);
      await writeFileAtomic(confPath, renderStubConf(conf, hba, new Date().toISOString()));
      return change;
    }
    if (conf !== undefined) await copyFileAtomic(conf, confPath);
    if (hba !== undefined) await copyFileAtomic(hba, join(config.pgdata, 'pg_hba.conf'));
  } catch (err) {
    throw new PitrError('CONF_COPY_FAILED', `cannot put the ${set} configuration in place: ${errorMessage(err)}`);
  }
  await ensureIncludeLine(confPath);
  return change;
}

/**
 * The postgresql.conf a server started by -R reads, as installConfFiles('standby') then
 * ('failover') leave it (copied, or included by the no_copy_conf stub): pg_conf_failover, else
 * pg_conf, else undefined (the copy's own pgdata/postgresql.conf). An absolute path.
 */
export function recoveryConfFile(config: StandbyConfig): string | undefined {
  const conf = config.pg_conf_failover ?? config.pg_conf;
  return conf === undefined ? undefined : resolve(conf);
}

/** Adds `include_if_exists 'pitrtools.conf'` to postgresql.conf once. */
export async function ensureIncludeLine(confPath: string): Promise<void> {
  let text: string;
  try {
    text = await fsp.readFile(confPath, 'utf8');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
    throw new PitrError('NO_POSTGRESQL_CONF', `${confPath} does not exist`, {
      hint: 'set pg_conf in the ini file to the postgresql.conf this standby should use',
    });
  }
  const next = withIncludeLine(text);
  if (next !== text) await writeFileAtomic(confPath, next);
}

/** The streaming settings of the ini, writing (or removing) the 0600 passfile the password goes into. */
export async function streamingSettings(config: StandbyConfig): Promise<StreamingSettings | undefined> {
  const passfile = join(config.pgdata, PASSFILE);
  if (!config.use_streaming_replication) {
    await fsp.rm(passfile, { force: true });
    return undefined;
  }
  const base = {
    host: config.master_public_ip,
    port: config.port,
    user: config.repl_db_user,
    sslmode: config.sslmode,
    applicationName: `pitrtools_${hostname()
      .split('.')[0]!
      .replace(/[^A-Za-z0-9_]/g, '_')}`,
  };
  if (config.repl_db_password === undefined) {
    await fsp.rm(passfile, { force: true });
    return base;
  }
  await writeFileAtomic(passfile, passfileLine(config.master_public_ip, config.port, '*', config.repl_db_user, config.repl_db_password), 0o600);
  return { ...base, passfile };
}

/** Leaves exactly one signal file (or none): standby.signal wins over recovery.signal in PostgreSQL. */
export async function setSignal(pgdata: string, which: 'standby' | 'recovery' | 'none'): Promise<void> {
  for (const name of ['standby', 'recovery'] as const) {
    const path = join(pgdata, `${name}.signal`);
    if (name === which) await writeFileAtomic(path, '');
    else await fsp.rm(path, { force: true });
  }
  await fsyncDir(pgdata);
}

/** The copy's postgresql.auto.conf: ALTER SYSTEM's file, read after postgresql.conf and our include. */
export const AUTO_CONF = 'postgresql.auto.conf';

/**
 * Comments out the lines of pgdata/postgresql.auto.conf that would override our settings or end
 * recovery (see inherited-settings.ts), durably (temp, fsync, rename, fsync dir); returns them.
 * Throws PitrError AUTO_CONF_NOT_A_FILE (exit 2) when the name is a symlink or not a regular file.
 */
export async function neutraliseInherited(pgdata: string, command: string, now = new Date()): Promise<DisabledLine[]> {
  const path = join(pgdata, AUTO_CONF);
  const st = await fsp.lstat(path).catch((err: unknown) => (errorCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
  if (st === undefined) return [];
  if (!st.isFile()) {
    throw new PitrError('AUTO_CONF_NOT_A_FILE', `${path} is not a regular file (a symbolic link?): cmd_standby does not follow or rewrite it`, {
      hint: `replace it with a regular file (ALTER SYSTEM writes one), then run ${command} again`,
    });
  }
  const text = await fsp.readFile(path, 'utf8');
  const r = neutraliseAutoConf(text, command, now.toISOString());
  if (r.disabled.length > 0) await writeFileAtomic(path, r.text, st.mode & 0o777);
  return r.disabled;
}

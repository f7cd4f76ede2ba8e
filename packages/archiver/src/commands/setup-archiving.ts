/**
 * cmd_archiver --setup and --stop (walmgr's setup / stop), on the master this ini names.
 * --setup: archive_mode, archive_command (the line -I prints) and wal_level through ALTER SYSTEM,
 * pg_reload_conf(), then pg_settings.pending_restart says what still needs a restart; the server
 * is restarted only with --restart. --stop: `state: offline` in the ini (every call exits 3, so
 * PostgreSQL keeps the WAL in pg_wal and retries), with --remove also archive_command = ''.
 */
import { promises as fsp } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { setDefaultKey } from '@pitrtools/core/config/set-key';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import { writeFileAtomic } from '@pitrtools/core/fs/atomic';
import { withPg, type PgSession } from '@pitrtools/core/pg/client';
import { requireDataDirectory } from '../archive/pgdata.js';
import { localServer, localSessionOptions } from '@pitrtools/core/pg/local-server';
import { runProcess } from '@pitrtools/core/proc';
import { archiveCommandValue } from '@pitrtools/core/pg/archive-command';
import { resolve } from 'node:path';
import type { ReportLine } from './validate.js';

/** Options of --setup. */
export interface SetupOptions {
  config: ArchiverConfig;
  /** Absolute path of the sh front end bin/cmd_archiver. */
  cmdArchiver: string;
  /** --restart: pg_ctl restart -m fast when a setting waits for a restart. */
  restart?: boolean;
}

/** What --setup / --stop did; `pendingRestart` lists settings that wait for a restart. */
export interface SetupReport {
  lines: ReportLine[];
  pendingRestart: string[];
}

/** `setting` as configured (what runs after a restart), `running` what runs now. */
type Setting = { name: string; setting: string; running: string; pending_restart: boolean };
const NAMES = ['archive_mode', 'archive_command', 'archive_library', 'wal_level'];

async function connectMaster<T>(c: ArchiverConfig, what: string, fn: (s: PgSession, pid: number) => Promise<T>): Promise<T> {
  await requireDataDirectory(c.pgdata);
  const server = await localServer(c.pgdata);
  if (!server.running || server.port === undefined) {
    throw new PitrError('PG_NOT_RUNNING', `PostgreSQL is not running in ${c.pgdata}`, {
      hint: `start it, then run ${what} again`,
    });
  }
  return withPg(localSessionOptions(server, server.port, `cmd_archiver ${what}`), (s) => fn(s, server.pid!));
}

/**
 * The settings as configured: what runs, or, while a change waits for a restart (or archive_mode
 * off shows archive_command as '(disabled)'), the files' value (pg_file_settings, the last line wins).
 */
async function settings(s: PgSession): Promise<Map<string, Setting>> {
  const rows = await s.query<{ name: string; setting: string; pending_restart: boolean; context: string; source: string; file: string | null }>(
    `SELECT s.name, s.setting, s.pending_restart, s.context, s.source,
            (SELECT f.setting FROM pg_file_settings f WHERE f.name = s.name ORDER BY f.seqno DESC LIMIT 1) AS file
       FROM pg_settings s WHERE s.name = ANY($1)`,
    [NAMES],
  );
  return new Map(
    rows.map((r) => {
      const disabled = r.name === 'archive_command' && r.setting === '(disabled)';
      // The files' last line, applied or not (a postmaster setting waiting for a restart has error 'setting could not be
      // applied'); as written (archive_mode may say true or 1); a command-line -c wins over them.
      const file =
        r.file === null || r.source === 'command line'
          ? undefined
          : r.name === 'archive_mode' && ['true', 'yes', '1'].includes(r.file.toLowerCase())
            ? 'on'
            : r.file;
      const setting = file ?? (disabled ? '' : r.setting);
      // pending_restart is set only in a backend that took part in the reload: compare as well.
      const pending = r.pending_restart || (r.context === 'postmaster' && setting !== r.setting);
      return [r.name, { name: r.name, setting, running: r.setting, pending_restart: pending }];
    }),
  );
}

/** ALTER SYSTEM takes no parameters: the server quotes the value itself (quote_literal), for its own parser. */
async function alterSystem(s: PgSession, name: string, value: string): Promise<void> {
  const literal = String(await s.scalar('SELECT quote_literal($1)', [value]));
  await s.query(`ALTER SYSTEM SET ${name} = ${literal}`);
}

/**
 * Reloads and waits (≤ 10 s) until a new session was forked after the postmaster re-read the files
 * (pg_conf_load_time() moved), so its pending_restart is the reloaded one. The values cannot tell:
 * with archive_mode off, archive_command shows as '(disabled)' whatever it is.
 */
async function reloadAndRead(c: ArchiverConfig, s: PgSession): Promise<Map<string, Setting>> {
  const loaded = String(await s.scalar('SELECT pg_conf_load_time()::text'));
  await s.query('SELECT pg_reload_conf()');
  const deadline = Date.now() + 10_000;
  for (;;) {
    // A new backend starts from the postmaster's settings; this one reloads only between commands.
    const { m, at } = await connectMaster(c, '--setup', async (n) => ({
      m: await settings(n),
      at: String(await n.scalar('SELECT pg_conf_load_time()::text')),
    }));
    if (at !== loaded || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes `state: <value>` into [DEFAULT] of the ini (atomically, keeping its mode and everything else). */
async function setState(file: string, value: 'online' | 'offline'): Promise<void> {
  const real = await fsp.realpath(file);
  const st = await fsp.stat(real);
  try {
    await writeFileAtomic(real, setDefaultKey(await fsp.readFile(real, 'utf8'), file, 'state', value), st.mode & 0o777);
  } catch (err) {
    // The new file is written beside the old one and renamed over it: the directory must be writable.
    throw new PitrError('INI_NOT_WRITTEN', `cannot set state: ${value} in ${file}: ${errorMessage(err)}`, {
      hint: `let ${userInfo().username} write ${dirname(real)}, or set state: ${value} in the file by hand`,
    });
  }
}

/** Runs --setup; throws NO_PG_WAL (exit 2) for a pgdata that is no data directory, PG_NOT_RUNNING, INI_NOT_WRITTEN or RESTART_FAILED (exit 1). */
export async function setupArchiving(o: SetupOptions): Promise<SetupReport> {
  const c = o.config;
  const command = archiveCommandValue(o.cmdArchiver, resolve(c.file));
  const lines: ReportLine[] = [];
  const { after, pid } = await connectMaster(c, '--setup', async (s, pid) => {
    const before = await settings(s);
    const want: Array<[string, string, string]> = [];
    if (!['on', 'always'].includes(before.get('archive_mode')!.setting)) want.push(['archive_mode', 'on', 'PostgreSQL archives nothing while it is off']);
    if (before.get('archive_command')!.setting !== command) want.push(['archive_command', command, 'the line cmd_archiver -I prints']);
    // PostgreSQL 15+: a library replaces archive_command (16+ refuses both at once).
    if ((before.get('archive_library')?.setting ?? '') !== '') want.push(['archive_library', '', 'a library would be used instead of archive_command']);
    if (!['replica', 'logical'].includes(before.get('wal_level')!.setting)) want.push(['wal_level', 'replica', 'minimal WAL cannot be archived or restored']);
    for (const [name, value, why] of want) {
      await alterSystem(s, name, value);
      lines.push({ level: 'INFO', text: `ALTER SYSTEM SET ${name} = '${value}' (was '${before.get(name)!.setting}'): ${why}` });
    }
    for (const n of ['archive_mode', 'archive_command', 'wal_level']) {
      const b = before.get(n)!;
      if (!want.some(([w]) => w === n))
        lines.push({ level: 'INFO', text: `${n} is already '${b.setting}'${b.pending_restart ? ' (waiting for a restart)' : ''}` });
    }
    return { after: await reloadAndRead(c, s), pid };
  });
  if (c.state === 'offline') {
    await setState(c.file, 'online');
    lines.push({ level: 'INFO', text: `state: online in ${c.file} (it was offline): cmd_archiver ships again` });
  }
  const pendingRestart = NAMES.filter((n) => after.get(n)?.pending_restart === true);
  if (pendingRestart.length === 0) {
    lines.push({ level: 'INFO', text: 'reloaded: archiving is set up; no restart needed' });
    return { lines, pendingRestart };
  }
  const pgCtl = join(dirname(await fsp.readlink(`/proc/${pid}/exe`).catch(() => '/usr/bin/postgres')), 'pg_ctl');
  if (!o.restart) {
    lines.push({
      level: 'WARNING',
      text: `reloaded, but ${pendingRestart.join(' and ')} take${pendingRestart.length === 1 ? 's' : ''} effect only after a restart of PostgreSQL: until then it archives ${after.get('archive_mode')!.running === 'off' ? 'nothing' : 'as before'}`,
      hint: `restart it when convenient (e.g. systemctl restart postgresql@..., or ${pgCtl} -D ${c.pgdata} restart -m fast), or run cmd_archiver --setup --restart`,
    });
    return { lines, pendingRestart };
  }
  // The server's stderr stays where it was (a log file); pg_ctl would otherwise hand it our pipe.
  const log = await fsp.readlink(`/proc/${pid}/fd/2`).catch(() => '');
  const logfile = log.startsWith('/') && !log.startsWith('/dev/') ? log : '/dev/null';
  const r = await runProcess([pgCtl, '-D', c.pgdata, '-l', logfile, '-m', 'fast', '-w', '-t', '300', 'restart'], { timeoutMs: 330_000 });
  if (r.code !== 0) {
    throw new PitrError(
      'RESTART_FAILED',
      `${pgCtl} restart failed (${r.spawnError?.message ?? `exit ${r.code}`}): ${(r.stderr || r.stdout).trim().slice(-400)}`,
      {
        hint: `the settings are in ${join(c.pgdata, 'postgresql.auto.conf')}; restart PostgreSQL yourself`,
      },
    );
  }
  const now = await connectMaster(c, '--setup', settings);
  const still = NAMES.filter((n) => now.get(n)?.pending_restart === true);
  lines.push({
    level: still.length ? 'WARNING' : 'INFO',
    text: `restarted PostgreSQL (pg_ctl restart -m fast): archive_mode = '${now.get('archive_mode')!.running}', wal_level = '${now.get('wal_level')!.running}'${still.length ? `; still pending: ${still.join(', ')}` : ''}`,
  });
  return { lines, pendingRestart: still };
}

/**
 * Runs --stop (and --remove). Throws NO_PG_WAL (exit 2, the ini unchanged) when --remove is given and
 * pgdata is not a data directory this user can reach; INI_NOT_WRITTEN when the ini cannot be rewritten;
 * PG_NOT_RUNNING when --remove cannot reach the server (exit 1).
 */
export async function stopArchiving(o: { config: ArchiverConfig; remove?: boolean }): Promise<SetupReport> {
  const c = o.config;
  // --remove needs the server of pgdata: a wrong pgdata is refused (exit 2) before the ini changes.
  if (o.remove) await requireDataDirectory(c.pgdata);
  const lines: ReportLine[] = [];
  const consequence =
    'PostgreSQL keeps every segment in pg_wal (pg_wal grows until archiving is back) and the slaves receive no WAL: ' +
    'their replay and any failover or point-in-time recovery stop at the last segment shipped';
  if (c.state === 'offline') {
    lines.push({ level: 'INFO', text: `state is already offline in ${c.file}` });
  } else {
    await setState(c.file, 'offline');
    lines.push({ level: 'INFO', text: `state: offline in ${c.file}: cmd_archiver refuses every segment (exit 3) and PostgreSQL retries it` });
  }
  if (o.remove) {
    await connectMaster(c, '--stop --remove', async (s) => {
      await alterSystem(s, 'archive_command', '');
      await s.query('SELECT pg_reload_conf()');
    });
    lines.push({
      level: 'INFO',
      text: "ALTER SYSTEM SET archive_command = '' and reloaded: PostgreSQL no longer calls cmd_archiver (archive_mode stays on, so it keeps the WAL)",
    });
  }
  lines.push({
    level: 'WARNING',
    text: `archiving is stopped: ${consequence}`,
    hint: 'cmd_archiver --setup starts it again; set archive_mode = off (restart) only if no standby needs this WAL',
  });
  return { lines, pendingRestart: [] };
}

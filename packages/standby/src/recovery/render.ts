/**
 * The text of the settings file cmd_standby owns in the data directory (pitrtools.conf), and the
 * quoting it needs: postgresql.conf strings, libpq conninfo values, .pgpass fields, and the ONE
 * shell command line we cannot avoid (restore_command is run by PostgreSQL through /bin/sh).
 * Pure functions: the writers live in settings-files.ts.
 */
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import { confLine, confQuote } from '@pitrtools/core/pg/conf-value';
import { shellQuote } from '@pitrtools/core/ssh/quote';

/** Name of our settings file inside pgdata; postgresql.conf includes it. */
export const SETTINGS_FILE = 'pitrtools.conf';
/** Name of the 0600 passfile primary_conninfo points at. */
export const PASSFILE = 'pitrtools.pgpass';
/** The line added (once) to pgdata/postgresql.conf. */
export const INCLUDE_LINE = `include_if_exists ${confQuote(SETTINGS_FILE, 'include_if_exists')}`;

/** A libpq conninfo value: bare when safe, else single-quoted with \ and ' escaped by a backslash. */
export function conninfoValue(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_.\-/:@]+$/.test(value)) return value;
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `key=value ...` from pairs, values quoted for libpq. */
export function conninfo(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${k}=${conninfoValue(v)}`).join(' ');
}

/** One .pgpass line; `:` and `\` inside a field are escaped with a backslash, as libpq reads them. */
export function passfileLine(host: string, port: number, database: string, user: string, password: string): string {
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  if (/[\n\r]/.test(password + user + host)) throw new TypeError('a .pgpass field cannot hold a line break');
  return `${esc(host)}:${port}:${esc(database)}:${esc(user)}:${esc(password)}\n`;
}

/**
 * One argument of a command PostgreSQL runs through the shell with %-substitution (restore_command,
 * archive_cleanup_command): shell-quoted, and `%` doubled so PostgreSQL leaves it alone.
 */
export function commandArg(arg: string): string {
  if (/[\0\n\r]/.test(arg)) throw new TypeError(`cannot put a line break or NUL into a command line: ${JSON.stringify(arg)}`);
  return shellQuote(arg).replace(/%/g, '%%');
}

/** Where our own program is: node, the bin script, the absolute ini path. */
export interface SelfInvocation {
  node: string;
  script: string;
  ini: string;
}

/** `'node' 'cmd_standby.js' -C 'ini' <tail>` where tail holds PostgreSQL's %-placeholders. */
export function selfCommand(self: SelfInvocation, tail: string): string {
  return `${[self.node, self.script].map(commandArg).join(' ')} -C ${commandArg(self.ini)} ${tail}`;
}

/** Streaming replication settings. */
export interface StreamingSettings {
  host: string;
  port: number;
  user: string;
  sslmode: string;
  applicationName: string;
  /** Absolute passfile path, when a password is configured. */
  passfile?: string | undefined;
  /** The physical slot on the master to stream through (use_replication_slots): primary_slot_name. */
  slotName?: string | undefined;
}

/** What the settings file should say. */
export type SettingsMode =
  | { kind: 'standby'; self: SelfInvocation; streaming?: StreamingSettings | undefined }
  | { kind: 'pitr'; self: SelfInvocation; targetTime: string }
  | { kind: 'promoted'; when: string };

/** The primary_conninfo string (no password: that is in the passfile). */
export function primaryConninfo(s: StreamingSettings): string {
  const pairs: Array<[string, string]> = [
    ['host', s.host],
    ['port', String(s.port)],
    ['user', s.user],
    ['sslmode', s.sslmode],
    ['application_name', s.applicationName],
  ];
  if (s.passfile !== undefined) pairs.push(['passfile', s.passfile]);
  return conninfo(pairs);
}

/** One setting of pitrtools.conf: the name and the value PostgreSQL must read back (`postgres -C`). */
export type Setting = readonly [name: string, value: string];

/** The settings pitrtools.conf holds for a mode, unquoted (none once promoted). */
export function settingsFor(mode: SettingsMode): Setting[] {
  if (mode.kind === 'promoted') return [];
  const self = mode.self;
  const command = (key: string, tail: string): Setting => {
    try {
      return [key, selfCommand(self, tail)];
    } catch (err) {
      throw new PitrError('BAD_CONF_VALUE', `the value of ${key} cannot be written: ${errorMessage(err)}`, {
        hint: 'rename the path (node, cmd_standby or the ini file) so that it has no line break',
      });
    }
  };
  const out: Setting[] = [command('restore_command', '--restore %f %p')];
  if (mode.kind === 'standby') {
    // The cleanup keeps archivedir from growing forever, as pg_standby %r did in the original.
    out.push(command('archive_cleanup_command', '--cleanup %r'));
    out.push(['recovery_target_timeline', 'latest'], ['hot_standby', 'on']);
    if (mode.streaming) out.push(['primary_conninfo', primaryConninfo(mode.streaming)]);
    if (mode.streaming?.slotName !== undefined) out.push(['primary_slot_name', mode.streaming.slotName]);
  } else {
    out.push(['recovery_target_time', mode.targetTime], ['recovery_target_action', 'promote'], ['recovery_target_timeline', 'latest'], ['hot_standby', 'on']);
  }
  return out;
}

/** The whole pitrtools.conf for a mode; every value quoted by confQuote (BAD_CONF_VALUE for a line break). */
export function renderSettings(mode: SettingsMode, stamp: string): string {
  const head = [
    `# Written by cmd_standby (${stamp}) and rewritten by each -S, -F999 and -R: do not edit.`,
    `# postgresql.conf includes it with: ${INCLUDE_LINE}`,
  ];
  if (mode.kind === 'promoted') {
    return [...head, `# This server was promoted (${mode.when}); no recovery settings apply any more.`, ''].join('\n');
  }
  return `${[...head, ...settingsFor(mode).map(([k, v]) => confLine(k, v))].join('\n')}\n`;
}

/** The postgresql.conf written into pgdata with no_copy_conf: it points at the configured files. */
export function renderStubConf(pgConf: string, hbaFile: string | undefined, stamp: string): string {
  return [
    `# Written by cmd_standby (${stamp}) because no_copy_conf is on: the settings live in the files below.`,
    `include ${confQuote(pgConf, 'include (pg_conf)')}`,
    ...(hbaFile !== undefined ? [confLine('hba_file', hbaFile)] : []),
    INCLUDE_LINE,
    '',
  ].join('\n');
}

/** postgresql.conf text with our include line appended unless an active one is already there. */
export function withIncludeLine(conf: string): string {
  const active = conf.split('\n').some((l) => l.trim() === INCLUDE_LINE);
  if (active) return conf;
  const sep = conf === '' || conf.endsWith('\n') ? '' : '\n';
  return `${conf}${sep}\n# Added by cmd_standby: its recovery settings (rewritten by -S, -F999, -R).\n${INCLUDE_LINE}\n`;
}

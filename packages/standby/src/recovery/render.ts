/**
 * The text of the settings file cmd_standby owns in the data directory (pitrtools.conf), and the
 * quoting it needs: postgresql.conf strings, libpq conninfo values, .pgpass fields, and the ONE
 * shell command line we cannot avoid (restore_command is run by PostgreSQL through /bin/sh).
 * Pure functions: the writers live in settings-files.ts.
 */
import { shellQuote } from '@pitrtools/core/ssh/quote';

/** Name of our settings file inside pgdata; postgresql.conf includes it. */
export const SETTINGS_FILE = 'pitrtools.conf';
/** Name of the 0600 passfile primary_conninfo points at. */
export const PASSFILE = 'pitrtools.pgpass';
/** The line added (once) to pgdata/postgresql.conf. */
export const INCLUDE_LINE = `include_if_exists '${SETTINGS_FILE}'`;

/** A postgresql.conf string literal: single quotes, a quote inside doubled. */
export function confQuote(value: string): string {
  if (/[\0\n\r]/.test(value)) throw new TypeError(`a postgresql.conf value cannot hold a line break or NUL: ${JSON.stringify(value)}`);
  return `'${value.replace(/'/g, "''")}'`;
}

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
}

/** What the settings file should say. */
export type SettingsMode =
  | { kind: 'standby'; self: SelfInvocation; streaming?: StreamingSettings | undefined }
  | { kind: 'pitr'; self: SelfInvocation; targetTime: string }
  | { kind: 'promoted'; when: string };

/** The primary_conninfo string (no password: that is in the passfile). */
export function primaryConninfo(s: StreamingSettings): string {
  const pairs: Array<[string, string]> = [
    ['host', s.host], ['port', String(s.port)], ['user', s.user], ['sslmode', s.sslmode],
    ['application_name', s.applicationName],
  ];
  if (s.passfile !== undefined) pairs.push(['passfile', s.passfile]);
  return conninfo(pairs);
}

/** The whole pitrtools.conf for a mode. */
export function renderSettings(mode: SettingsMode, stamp: string): string {
  const head = [
    `# Written by cmd_standby (${stamp}) and rewritten by each -S, -F999 and -R: do not edit.`,
    `# postgresql.conf includes it with: ${INCLUDE_LINE}`,
  ];
  if (mode.kind === 'promoted') {
    return [...head, `# This server was promoted (${mode.when}); no recovery settings apply any more.`, ''].join('\n');
  }
  const restore = selfCommand(mode.self, '--restore %f %p');
  const lines = [...head, `restore_command = ${confQuote(restore)}`];
  if (mode.kind === 'standby') {
    // The cleanup keeps archivedir from growing forever, as pg_standby %r did in the original.
    lines.push(`archive_cleanup_command = ${confQuote(selfCommand(mode.self, '--cleanup %r'))}`);
    lines.push("recovery_target_timeline = 'latest'", 'hot_standby = on');
    if (mode.streaming) lines.push(`primary_conninfo = ${confQuote(primaryConninfo(mode.streaming))}`);
  } else {
    lines.push(`recovery_target_time = ${confQuote(mode.targetTime)}`, "recovery_target_action = 'promote'",
      "recovery_target_timeline = 'latest'", 'hot_standby = on');
  }
  return `${lines.join('\n')}\n`;
}

/** The postgresql.conf written into pgdata with no_copy_conf: it points at the configured files. */
export function renderStubConf(pgConf: string, hbaFile: string | undefined, stamp: string): string {
  return [
    `# Written by cmd_standby (${stamp}) because no_copy_conf is on: the settings live in the files below.`,
    `include ${confQuote(pgConf)}`,
    ...(hbaFile !== undefined ? [`hba_file = ${confQuote(hbaFile)}`] : []),
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

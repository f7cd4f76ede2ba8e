/**
 * Logging. core never writes to the console itself: it formats lines and hands them to a
 * sink the binary installs (stderr, so PostgreSQL's log collector captures archive_command output).
 */

export type LogLevel = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

/** What a component needs to log; tests pass a recording logger. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  notice(msg: string): void;
  warning(msg: string): void;
  error(msg: string): void;
  critical(msg: string): void;
  readonly debugEnabled: boolean;
}

/**
 * A logger that turns every level above debug into debug (with `prefix`) while `demoted()` holds:
 * for work whose outcome no longer matters (an upload cut on purpose, a run past its deadline),
 * so its failures do not read as problems.
 */
export function demotedLogger(l: Logger, demoted: () => boolean, prefix = ''): Logger {
  const quiet =
    (f: (m: string) => void) =>
    (m: string): void =>
      demoted() ? l.debug(`${prefix}${m}`) : f.call(l, m);
  return {
    debug: (m) => l.debug(m),
    info: quiet(l.info),
    notice: quiet(l.notice),
    warning: quiet(l.warning),
    error: quiet(l.error),
    critical: quiet(l.critical),
    get debugEnabled() {
      return l.debugEnabled;
    },
  };
}

/** Receives finished log records; the binary decides where they go and whether to colour them. */
export type LogSink = (level: LogLevel, line: string, message: string) => void;

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * The zone's short name at `d`, as Intl's en-US 'short' gives it. In UTC (the usual zone of a
 * server) without Intl: its first use pages in ICU's data and tables, ~7-10 MB more RSS for the
 * whole run of any command (measured on -B and on a bare node; Date's toString needs none of it).
 */
function zoneName(d: Date): string {
  if (d.getTimezoneOffset() === 0 && d.toString().endsWith('(Coordinated Universal Time)')) return 'UTC';
  return (
    Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(d)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'UTC'
  );
}

/** `YYYY-MM-DD HH:MM:SS TZ` in local time, the way PostgreSQL's own log_line_prefix %t looks. */
export function logTimestamp(d: Date = new Date()): string {
  const tz = zoneName(d);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${tz}`;
}

// key=value / key: value pairs whose key says "password", and URL user:pass@ parts.
const SECRET_PATTERNS: RegExp[] = [/((?:password|passwd|pwd|repl_db_password)\s*[=:]\s*)('[^']*'|"[^"]*"|\S+)/gi, /(\/\/[^/:@\s]+:)([^@\s]+)(@)/g];

/** Removes anything that looks like a password from a message before it is logged. */
export function redact(message: string, secrets: readonly string[] = []): string {
  let out = message;
  for (const s of secrets) if (s.length >= 1) out = out.split(s).join('********');
  out = out.replace(SECRET_PATTERNS[0]!, (_m, k: string) => `${k}********`);
  out = out.replace(SECRET_PATTERNS[1]!, (_m, a: string, _p: string, c: string) => `${a}********${c}`);
  return out;
}

/** Formats one line: `[YYYY-MM-DD HH:MM:SS TZ] LEVEL: message`. */
export function formatLogLine(level: LogLevel, message: string, d: Date = new Date()): string {
  return `[${logTimestamp(d)}] ${level}: ${message}`;
}

/** Builds a Logger that formats, redacts known secrets and hands lines to `sink`. */
export function createLogger(sink: LogSink, opts: { debug?: boolean; secrets?: readonly string[] } = {}): Logger {
  const secrets = opts.secrets ?? [];
  const emit = (level: LogLevel, msg: string): void => {
    const clean = redact(msg, secrets);
    sink(level, formatLogLine(level, clean), clean);
  };
  const debugEnabled = opts.debug ?? false;
  return {
    debugEnabled,
    debug: (m) => {
      if (debugEnabled) emit('DEBUG', m);
    },
    info: (m) => emit('INFO', m),
    notice: (m) => emit('NOTICE', m),
    warning: (m) => emit('WARNING', m),
    error: (m) => emit('ERROR', m),
    critical: (m) => emit('CRITICAL', m),
  };
}

/** A logger that keeps its lines in memory; for tests and for collecting output. */
export function memoryLogger(debug = true): Logger & { lines: string[]; messages: Array<[LogLevel, string]> } {
  const lines: string[] = [];
  const messages: Array<[LogLevel, string]> = [];
  const l = createLogger(
    (level, line, message) => {
      lines.push(line);
      messages.push([level, message]);
    },
    { debug },
  );
  return Object.assign(l, { lines, messages });
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger(() => undefined);

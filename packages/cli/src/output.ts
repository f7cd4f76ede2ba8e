/**
 * Where log lines and results go: log lines on stderr (PostgreSQL's log collector captures
 * archive_command's stderr), results on stdout. Colour only on a TTY and never with NO_COLOR;
 * chalk is loaded only when colour is on, so archive_command (no TTY) never pays for it.
 */
import type { LogLevel, LogSink } from '@pitrtools/core/log';

/** True when `stream` should get colour: a TTY, NO_COLOR unset, TERM not dumb. */
export function wantsColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

type Paint = (level: LogLevel, text: string) => string;
let paint: Paint = (_l, t) => t;

/** Loads chalk and turns colour on (called once at start-up when wantsColor says so). */
export async function enableColor(): Promise<void> {
  const { default: chalk } = await import('chalk');
  const styles: Record<LogLevel, (t: string) => string> = {
    DEBUG: chalk.gray,
    INFO: (t) => t,
    NOTICE: chalk.cyan,
    WARNING: chalk.yellow,
    ERROR: chalk.red,
    CRITICAL: chalk.bold.red,
  };
  paint = (level, text) => styles[level](text);
}

/** Colours `text` as `level` if colour is on. */
export function colorize(level: LogLevel, text: string): string {
  return paint(level, text);
}

/** A LogSink writing one line per record to stderr. */
export const stderrSink: LogSink = (level, line) => {
  process.stderr.write(`${paint(level, line)}\n`);
};

/** Writes a result line to stdout (what a person or a script reads). */
export function say(text: string, level: LogLevel = 'INFO'): void {
  process.stdout.write(`${paint(level, text)}\n`);
}

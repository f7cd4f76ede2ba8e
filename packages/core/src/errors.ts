/**
 * Typed errors. Every error that reaches a binary's exit point carries a stable `code`
 * (for logs, tests and --json) and the process `exitCode` it maps to.
 */

/** Exit codes shared by both programs; docs/exit-codes.md lists them. */
export const ExitCode = {
  /** Success; for cmd_archiver -F: the segment is durable on every slave or in its queue. */
  OK: 0,
  /** The operation failed (for cmd_archiver: the segment is NOT safely archived; PostgreSQL retries). */
  FAILED: 1,
  /** Usage or configuration error: bad flag, bad ini, running as root. Nothing was done. */
  USAGE: 2,
  /** cmd_archiver: archiving is switched off (`state: offline`); PostgreSQL keeps the WAL and retries. */
  OFFLINE: 3,
  /** cmd_archiver: a slave already holds a different file under the same name; nothing was overwritten. */
  CONFLICT: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message meant for a person, a stable code, an exit code and an optional hint. */
export class PitrError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(code: string, message: string, opts: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PitrError';
    this.code = code;
    this.exitCode = opts.exitCode ?? ExitCode.FAILED;
    this.hint = opts.hint;
  }
}

/** A configuration problem: names the file, the line (when known) and the key. Exit code 2. */
export class ConfigError extends PitrError {
  readonly file: string;
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(code: string, file: string, message: string, opts: { line?: number; key?: string; hint?: string } = {}) {
    const where = `${file}${opts.line !== undefined ? `:${opts.line}` : ''}`;
    const key = opts.key !== undefined ? ` key '${opts.key}':` : '';
    super(code, `${where}:${key} ${message}`, { exitCode: ExitCode.USAGE, ...(opts.hint ? { hint: opts.hint } : {}) });
    this.name = 'ConfigError';
    this.file = file;
    this.line = opts.line;
    this.key = opts.key;
  }
}

/** Type guard for errors that carry a stable code (ours, or Node's system errors). */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** The message of anything thrown, without a stack trace. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Typed errors. Every error that reaches a binary's exit point carries a stable `code`
 * (for logs, tests and --json) and the process `exitCode` it maps to.
 */

export { ExitCode, ERRORS, exitCodeOf, isErrorCode, levelOf, type ErrorCodeName, type ExitCodeValue } from './error-codes.js';
import { exitCodeOf, type ErrorCodeName } from './error-codes.js';

/** Base class: a message meant for a person, a registered code (its exit code comes with it) and an optional hint. */
export class PitrError extends Error {
  readonly code: ErrorCodeName;
  /** From the registry (error-codes.ts): the same code exits the same way on every path. */
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(code: ErrorCodeName, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PitrError';
    this.code = code;
    this.exitCode = exitCodeOf(code);
    this.hint = opts.hint;
  }
}

/** A configuration problem: names the file, the line (when known) and the key. Exit code 2. */
export class ConfigError extends PitrError {
  readonly file: string;
  readonly line: number | undefined;
  readonly key: string | undefined;
  constructor(code: ErrorCodeName, file: string, message: string, opts: { line?: number; key?: string; hint?: string } = {}) {
    const where = `${file}${opts.line !== undefined ? `:${opts.line}` : ''}`;
    const key = opts.key !== undefined ? ` key '${opts.key}':` : '';
    super(code, `${where}:${key} ${message}`, opts.hint ? { hint: opts.hint } : {});
    this.name = 'ConfigError';
    this.file = file;
    this.line = opts.line;
    this.key = opts.key;
  }
}

/** Type guard for errors that carry a stable code (ours, or Node's system errors). */
export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** The message of anything thrown, without a stack trace. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

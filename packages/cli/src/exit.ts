/**
 * The one exit point of a binary: runs the command, turns any error into one clear line (plus a
 * hint), flushes stdout/stderr, and exits with the error's exit code.
 */
import { ExitCode, PitrError, errorMessage, levelOf } from '@pitrtools/core/errors';
import { colorize } from './output.js';

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) return resolve();
    stream.write('', () => resolve());
  });
}

/**
 * The failure as one JSON line on stdout, for a run with --json: a script that asked for JSON gets
 * an object on failure too, with the stable code docs/errors.md lists (null when the error is not
 * one of ours): `{"error": {"code", "level", "exit", "message", "hint"?}}`.
 */
function printJsonError(e: { code: string | null; level: string; exit: number; message: string; hint?: string | undefined }): void {
  process.stdout.write(`${JSON.stringify({ error: e })}\n`); // an undefined hint is left out
}

/** Whether this run asked for JSON on stdout (every program spells it --json). */
const wantsJson = (): boolean => process.argv.slice(2).includes('--json');

/**
 * Prints an error the way every program does: `program: ERROR: message` (WARNING where the
 * registry says) and `HINT: ...` on stderr; with --json also one JSON object on stdout (see
 * printJsonError). Returns the exit code (the error's, 1 for one not ours).
 */
export function printError(program: string, err: unknown, debug = false): number {
  if (err instanceof PitrError) {
    const level = levelOf(err.code);
    process.stderr.write(`${colorize(level, `${program}: ${level}: ${err.message}`)}\n`);
    // A usage error without a hint of its own points at --help, the same words in every program.
    const hint = err.hint ?? (err.code === 'USAGE' ? `${program} --help lists every option` : undefined);
    if (hint) process.stderr.write(`${program}: HINT: ${hint}\n`);
    if (debug && err.cause) process.stderr.write(`${program}: DEBUG: cause: ${errorMessage(err.cause)}\n`);
    if (wantsJson()) printJsonError({ code: err.code, level, exit: err.exitCode, message: err.message, hint });
    return err.exitCode;
  }
  // Not one of ours: a bug or an unexpected system error. Say so plainly; stack only under debug.
  // A TypeError, ReferenceError or RangeError is always our bug (Node.js's argument checks throw
  // them too): the words say so and how to get what a report needs.
  const bug = err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError;
  process.stderr.write(`${colorize('ERROR', `${program}: ERROR: ${bug ? 'internal error (a bug in pitrtools): ' : ''}${errorMessage(err)}`)}\n`);
  if (bug && !debug) process.stderr.write(`${program}: HINT: run it again with PITR_DEBUG=1 for the stack, and report both at the project's issue tracker\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (wantsJson())
    printJsonError({ code: null, level: 'ERROR', exit: ExitCode.FAILED, message: `${bug ? 'internal error (a bug in pitrtools): ' : ''}${errorMessage(err)}` });
  return ExitCode.FAILED;
}

/** Runs `main` and exits the process with its result (or the error's exit code). */
export async function runMain(program: string, main: () => Promise<number>, opts: { debug?: () => boolean } = {}): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    code = printError(program, err, opts.debug?.() ?? process.env.PITR_DEBUG === '1');
  }
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

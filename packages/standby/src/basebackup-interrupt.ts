/**
 * Ctrl-C (SIGINT) or SIGTERM during -B (and, through onInterrupt, --backup and --verify-backup):
 * say what happened and what to do, then exit 128 + the signal's number (130 for Ctrl-C, 143 for
 * SIGTERM: the shell's convention, docs/cmd_standby.md). The programs the command started
 * (core/proc.ts runProcess: own process groups, which a terminal's Ctrl-C does not reach) are stopped.
 * Only the temp files this run was writing are removed on the way out (every writer tracks its
 * temps in core's temp-registry; the copy threads remove theirs when asked): the copy keeps its
 * pitrtools_basebackup.incomplete marker (written before the first file, removed only after the
 * last fsync), so -S refuses it; the master ends the backup by itself when our session goes
 * away; the next -B copies only what differs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { printError } from '@pitrtools/cli/exit';
import { PitrError } from '@pitrtools/core/errors';
import { dropAllTemps } from '@pitrtools/core/fs/temp-registry';
import { stopRunningProcesses } from '@pitrtools/core/proc';
import { INCOMPLETE_MARKER } from './state-files.js';

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

/** How long the copy threads get to remove their temp files before the exit (each answers in well under a millisecond once its thread is free). */
const DROP_TEMPS_MS = 5000;

/** The error -B ends with after `signal`; `marked`: the copy's incomplete marker is in pgdata. */
export function interruptedError(signal: keyof typeof SIGNALS, pgdata: string, ini: string, marked: boolean): PitrError {
  const what = marked
    ? `the copy in ${pgdata} is incomplete and stays marked so (${INCOMPLETE_MARKER}): -S and -F999 refuse it`
    : `nothing in ${pgdata} was changed yet`;
  return new PitrError(
    signal === 'SIGINT' ? 'INTERRUPTED' : 'TERMINATED',
    `-B interrupted by ${signal}: ${what}; the master ends its backup when our connection closes`,
    {
      hint: `run cmd_standby -C ${ini} -B again: it copies only the files that differ`,
    },
  );
}

/** The exit a signal started (it never settles: the process exits), once one came. */
let stopping: Promise<never> | undefined;

/**
 * Whether a SIGINT/SIGTERM is ending this -B: a failure that follows (a copy thread refusing a new
 * temp file, a connection cut) is part of the stop, not a failed backup to alert about.
 */
export function interruptRequested(): boolean {
  return stopping !== undefined;
}

/** Runs -B with the report above installed for SIGINT and SIGTERM; the handlers go when it ends. */
export function withInterruptReport<T>(program: string, pgdata: string, ini: string, run: () => Promise<T>): Promise<T> {
  return onInterrupt(program, (sig) => interruptedError(sig, pgdata, ini, existsSync(join(pgdata, INCOMPLETE_MARKER))), run);
}

/**
 * Runs `run` with SIGINT and SIGTERM handlers installed: at the first signal the temp files of
 * this run are removed, the programs it started (core/proc.ts) are stopped, `describe` says what
 * was half done (and undoes it: --backup removes its .partial set), and the process exits with
 * printError's code for it (INTERRUPTED 130, TERMINATED 143). The handlers go when `run` ends.
 */
export async function onInterrupt<T>(
  program: string,
  describe: (signal: keyof typeof SIGNALS) => PitrError | Promise<PitrError>,
  run: () => Promise<T>,
): Promise<T> {
  const handlers = (Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>).map((sig) => {
    const h = (): void => {
      // Both handlers go at the first signal: a second one (either) while the temps go finds no
      // handler of ours, and Node's default ends the process at once.
      for (const [s, other] of handlers) process.removeListener(s, other);
      stopRunningProcesses();
      stopping = dropAllTemps(DROP_TEMPS_MS)
        .then(() => describe(sig))
        .then((err) => {
          // stderr is synchronous for files and pipes on Linux: the lines are out before exit.
          process.exit(printError(program, err));
        });
    };
    process.once(sig, h);
    return [sig, h] as const;
  });
  try {
    return await run();
  } catch (err) {
    // The run failed because it is being stopped: the signal's exit (130/143) is the answer.
    if (stopping !== undefined) await stopping;
    throw err;
  } finally {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  }
}

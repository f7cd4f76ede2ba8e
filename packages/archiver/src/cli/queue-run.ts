/**
 * cmd_queue in the foreground: the queue runner and warm shipper until PostgreSQL stops, the ini
 * changes or a signal comes. Kept apart from the option parser: cmd_archiver starts cmd_queue
 * with exactly `-C ini --log-file FILE`, which the entry recognises by hand, so that the daemon
 * a burst waits for does not spend its first 60 ms loading yargs.
 */
import { resolve } from 'node:path';
import { ExitCode } from '@pitrtools/core/errors';
import { runMain } from '@pitrtools/cli/exit';
import { fileSink, loadForCommand } from './setup.js';

/** What running in the foreground needs (also the way cmd_archiver starts it, without the option parser). */
export interface ForegroundArgs {
  config: string;
  logFile?: string;
  verbose?: boolean;
}

/** Runs the queue runner / warm shipper until it stops; returns the exit code. */
export async function runForeground(a: ForegroundArgs): Promise<number> {
  const file = a.logFile !== undefined ? fileSink(a.logFile) : undefined;
  const { iniStamp } = await import('../daemon/ini-stamp.js');
  const { fileIdentity } = await import('../daemon/file-identity.js');
  // Both before loading: an edit in between is noticed, and no marker claims the new text.
  const configStamp = await iniStamp(resolve(a.config));
  const iniId = await fileIdentity(resolve(a.config));
  const configIdentity = iniId?.regular ? iniId.line : undefined;
  const { config, log } = loadForCommand('cmd_queue', a.config, a.verbose === true, file?.sink);
  const { runDaemon } = await import('../daemon/daemon.js');
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => stop.abort());
  process.on('uncaughtException', (err) => {
    log.critical(`cmd_queue crashed: ${err.stack ?? err.message}`);
    process.exit(ExitCode.FAILED);
  });
  try {
    return await runDaemon({ config, log, signal: stop.signal, configStamp, ...(configIdentity !== undefined ? { configIdentity } : {}) });
  } finally {
    file?.close();
  }
}

/** The process entry for `cmd_queue -C ini --log-file FILE`. */
export function runForegroundMain(a: ForegroundArgs): Promise<never> {
  return runMain('cmd_queue', () => runForeground(a));
}

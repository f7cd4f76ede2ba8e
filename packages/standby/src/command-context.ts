/** The context every command runs with, built from the ini file (shared by the command line and the -B fast path). */
import { stderrSink } from '@pitrtools/cli/output';
import { loadConfig, secretValues, type Notice } from '@pitrtools/core/config/index';
import { createLogger, type Logger } from '@pitrtools/core/log';
import type { Ctx } from './context.js';

/**
 * Logs the loader's notices. A key that no longer has an effect (recovery_conf) is a WARNING once,
 * at set-up (-I, `setup`), and a debug line on every other run: it used to repeat on each command.
 */
export function showNotices(notices: readonly Notice[], log: Logger, setup: boolean): void {
  for (const n of notices) {
    if (n.level === 'warning' && (n.ignoredKey === undefined || setup)) log.warning(n.message);
    else log.debug(n.message);
  }
}

/** Loads `configPath` and sets up logging (debug with -v or `debug: on`), results and progress; `setup`: this is -I. */
export function commandContext(configPath: string, verbose: boolean, setup = false): Ctx {
  const { config, notices } = loadConfig(configPath, 'standby');
  const log = createLogger(stderrSink, { debug: verbose || config.debug, secrets: secretValues('standby', config) });
  showNotices(notices, log, setup);
  return { config, log, progress: { isTTY: process.stderr.isTTY === true, write: (s) => process.stderr.write(s) } };
}

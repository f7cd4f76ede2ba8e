/** The context every command runs with, built from the ini file (shared by the command line and the -B fast path). */
import { say, stderrSink } from '@pitrtools/cli/output';
import { loadConfig, secretValues } from '@pitrtools/core/config/index';
import { createLogger } from '@pitrtools/core/log';
import type { Ctx } from './context.js';

/** Loads `configPath` and sets up logging (debug with -v or `debug: on`), results and progress. */
export function commandContext(configPath: string, verbose: boolean): Ctx {
  const { config, notices } = loadConfig(configPath, 'standby');
  const log = createLogger(stderrSink, { debug: verbose || config.debug, secrets: secretValues('standby', config) });
  for (const n of notices) (n.level === 'warning' ? log.warning : log.debug)(n.message);
  return { config, log, out: (line) => say(line), progress: { isTTY: process.stderr.isTTY === true, write: (s) => process.stderr.write(s) } };
}

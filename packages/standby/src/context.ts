/** What every command receives: the loaded ini and a logger (stderr). Commands return their results; the CLI layer (cli.ts, cli/results.ts) prints them. */
import type { StandbyConfig } from '@pitrtools/core/config/index';
import type { Logger } from '@pitrtools/core/log';
import type { ProgressSink } from './basebackup/progress.js';
import type { withMasterLink } from './master-link.js';

/** The environment of one command run. */
export interface Ctx {
  config: StandbyConfig;
  log: Logger;
  /** Where -B draws its progress line (a TTY), if anywhere. */
  progress?: ProgressSink;
  /** How commands that take the master's figures reach it (--check so far); withMasterLink unless a unit test hands in a fake. */
  master?: typeof withMasterLink;
}

/** What every command receives: the loaded ini, a logger (stderr) and a way to print results (stdout). */
import type { StandbyConfig } from '@pitrtools/core/config/index';
import type { Logger } from '@pitrtools/core/log';
import type { ProgressSink } from './basebackup/progress.js';

/** The environment of one command run. */
export interface Ctx {
  config: StandbyConfig;
  log: Logger;
  /** A result line for people (stdout). */
  out: (line: string) => void;
  /** Where -B draws its progress line (a TTY), if anywhere. */
  progress?: ProgressSink;
}

/**
 * What every command of both binaries does first: refuse root, load the ini (one clear line and
 * exit 2 on any mistake), make the logger, and show the loader's notices.
 */
import { closeSync, lstatSync, openSync, renameSync, writeSync } from 'node:fs';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { secretValues } from '@pitrtools/core/config/describe';
import { loadConfig } from '@pitrtools/core/config/load';
import { APPEND_NOFOLLOW, refusedLink } from '@pitrtools/core/fs/ownership';
import { createLogger, type Logger, type LogSink } from '@pitrtools/core/log';
import { assertNotRoot } from '@pitrtools/core/root-guard';
import { stderrSink } from '@pitrtools/cli/output';

/** A loaded ini and the logger to use with it. */
export interface Loaded {
  config: ArchiverConfig;
  log: Logger;
}

/** Refuses root, loads cmd_archiver.ini, logs its notices; `sink` defaults to stderr. */
export function loadForCommand(program: string, file: string, verbose: boolean, sink: LogSink = stderrSink): Loaded {
  assertNotRoot(program);
  const { config, notices } = loadConfig(file, 'archiver');
  const log = createLogger(sink, { debug: verbose || config.debug, secrets: secretValues('archiver', config) });
  for (const n of notices) (n.level === 'warning' ? log.warning : log.debug)(n.message);
  return { config, log };
}

const ROTATE_AT = 10 * 1024 * 1024;

/**
 * A sink appending to `path` (0600); a file past 10 MiB is moved to `path.1` first. A symbolic
 * link at `path` is never followed: PitrError SYMLINK_REFUSED (exit 2).
 */
export function fileSink(path: string): { sink: LogSink; close(): void } {
  try {
    const st = lstatSync(path);
    if (st.isFile() && st.size > ROTATE_AT) renameSync(path, `${path}.1`);
  } catch {
    // no log yet
  }
  let fd: number;
  try {
    fd = openSync(path, APPEND_NOFOLLOW, 0o600);
  } catch (err) {
    throw refusedLink(path, err);
  }
  return {
    sink: (_level, line) => {
      try {
        writeSync(fd, `${line}\n`);
      } catch {
        /* disk full: nothing better to do */
      }
    },
    close: () => closeSync(fd),
  };
}

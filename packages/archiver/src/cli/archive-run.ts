/**
 * cmd_archiver -C ini -F %p when the warm path did not answer: the whole job in this process,
 * then cmd_queue is (re)started so that the next segment finds it (or, with warm_path off, so
 * that what was queued gets delivered).
 */
import { resolve } from 'node:path';
import { ExitCode, PitrError } from '@pitrtools/core/errors';
import { runMain } from '@pitrtools/cli/exit';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import type { Logger } from '@pitrtools/core/log';
import { archiveCommand, type ArchiveResult } from '../commands/archive.js';
import { startDaemon } from '../daemon/spawn.js';
import { loadForCommand } from './setup.js';

/** Archives one segment standalone; returns the exit code. */
export async function runArchive(a: { config: string; file: string; verbose?: boolean; warmTried?: string }): Promise<number> {
  const { config, log } = loadForCommand('cmd_archiver', a.config, a.verbose ?? false);
  if (a.warmTried !== undefined) log.debug(`warm path not used: ${a.warmTried}`);
  let result: ArchiveResult;
  try {
    result = await archiveCommand({ config, file: a.file, log });
  } catch (err) {
    // Offline: the warm cmd_queue answers that too. Bad input: start nothing at all.
    if (err instanceof PitrError && err.code === 'ARCHIVING_OFFLINE' && config.warm_path) await ensureQueueRunner(config, log);
    throw err;
  }
  const queued = [...result.outcomes.values()].some((o) => o.kind === 'queued');
  if (config.warm_path || queued) await ensureQueueRunner(config, log);
  if (result.error) throw result.error;
  return ExitCode.OK;
}

async function ensureQueueRunner(config: ArchiverConfig, log: Logger): Promise<void> {
  const pid = await startDaemon(resolve(config.file), config.l_archivedir).catch((e: unknown) => log.debug(`cmd_queue not started: ${String(e)}`));
  if (pid !== undefined) log.debug(`started cmd_queue (pid ${pid})`);
}

/** The process entry for the fast path's fallback. */
export function runArchiveMain(a: { config: string; file: string; warmTried?: string }): Promise<never> {
  return runMain('cmd_archiver', () => runArchive(a));
}

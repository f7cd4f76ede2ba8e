/**
 * cmd_archiver -C ini -F %p when the warm path did not answer: the whole job in this process,
 * then cmd_queue is (re)started so that the next segment finds it (or, with warm_path off, so
 * that what was queued gets delivered).
 */
import { resolve } from 'node:path';
import { ExitCode, PitrError } from '@pitrtools/core/errors';
import { runMain } from '@pitrtools/cli/exit';
import { archiveCommand, type ArchiveResult } from '../commands/archive.js';
import { startDaemon } from '../daemon/spawn.js';
import { loadForCommand } from './setup.js';

// Outcomes after which cmd_queue is worth having: the file was a real segment.
const SHIPPING_ERRORS = new Set(['ARCHIVE_CONFLICT', 'ARCHIVE_FAILED', 'ARCHIVING_OFFLINE']);

/** Archives one segment standalone; returns the exit code. */
export async function runArchive(a: { config: string; file: string; verbose?: boolean; warmTried?: string }): Promise<number> {
  const { config, log } = loadForCommand('cmd_archiver', a.config, a.verbose ?? false);
  if (a.warmTried !== undefined) log.debug(`warm path not used: ${a.warmTried}`);
  let result: ArchiveResult | undefined;
  let failure: unknown;
  try {
    result = await archiveCommand({ config, file: a.file, log });
    return ExitCode.OK;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    const queued = [...(result?.outcomes.values() ?? [])].some((o) => o.kind === 'queued');
    const shipped = result !== undefined || (failure instanceof PitrError && SHIPPING_ERRORS.has(failure.code));
    if (shipped && (config.warm_path || queued || failure !== undefined)) {
      const pid = await startDaemon(resolve(config.file), config.l_archivedir).catch((e: unknown) => log.debug(`cmd_queue not started: ${String(e)}`));
      if (pid !== undefined) log.debug(`started cmd_queue (pid ${pid})`);
    }
  }
}

/** The process entry for the fast path's fallback. */
export function runArchiveMain(a: { config: string; file: string; warmTried?: string }): Promise<never> {
  return runMain('cmd_archiver', () => runArchive(a));
}

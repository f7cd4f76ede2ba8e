/**
 * cmd_archiver -C ini -F %p when the warm path did not answer. With no cmd_queue listening (the
 * first segment after PostgreSQL starts), one is started first and asked as soon as it listens:
 * it ships this segment and the ones behind it, and the next cmd_archiver finds it warm. When it
 * does not come up, or answers nothing usable, this process does the whole job itself, then
 * (re)starts cmd_queue so that the next segment finds it (or, with warm_path off, so that what
 * was queued gets delivered).
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, PitrError } from '@pitrtools/core/errors';
import { runMain } from '@pitrtools/cli/exit';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import type { Logger } from '@pitrtools/core/log';
import { resolveSlaves } from '@pitrtools/core/config/ssh-targets';
import { checkQueueDirs } from '../adapters/fs-queue-store.js';
import { resolveSegment } from '../archive/segment-input.js';
import type { ArchiveResult } from '../commands/archive.js';
import { isQueueProcess } from '../daemon/pidfile.js';
import { paceGc } from '../gc-pacer.js';
import { startDaemon } from '../daemon/spawn.js';
import { askDaemon, type WarmAnswer } from '../warm/client.js';
import { verdictError } from '../archive/verdict.js';
import { loadForCommand } from './setup.js';

/** What the slow path is given. */
export interface ArchiveRunArgs {
  config: string;
  file: string;
  verbose?: boolean;
  /** Why the warm path did not answer, if it was tried. */
  warmTried?: string;
  /** Nobody listened on cmd_queue's socket: start one and ask it before doing the job here. */
  noDaemon?: boolean;
}

/** How long a cmd_queue just started may take to listen before this process does the job itself. */
const START_WAIT_MS = 5000;

/** Starts cmd_queue (unless one is starting already) and asks it once it listens; undefined: do it yourself. */
async function startAndAsk(config: ArchiverConfig, a: ArchiveRunArgs, log: Logger): Promise<WarmAnswer | undefined> {
  let pid: number | undefined;
  try {
    pid = await startDaemon(resolve(config.file), config.l_archivedir);
  } catch (err) {
    if (err instanceof PitrError) return undefined; // refused (a link as its log): said by ensureQueueRunner
    pid = undefined;
  }
  if (pid !== undefined) log.debug(`started cmd_queue (pid ${pid}); asking it once it listens`);
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    const answer = await askDaemon(a.config, a.file);
    if (!('absent' in answer)) return answer;
    // A cmd_queue that exited (another one holds the pid file, the ini is wrong, ...) never listens.
    if (Date.now() > deadline || (pid !== undefined && !(await isQueueProcess(pid)))) {
      log.debug(`cmd_queue did not start listening: ${answer.fallback}`);
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Archives one segment (through a cmd_queue it starts, else standalone); returns the exit code. */
export async function runArchive(a: ArchiveRunArgs): Promise<number> {
  const { config, log } = loadForCommand('cmd_archiver', a.config, a.verbose ?? false);
  if (a.warmTried !== undefined) log.debug(`warm path not used: ${a.warmTried}`);
  // Not ours (or writable by others): exit 2 before a cmd_queue is started or anything written.
  await checkQueueDirs(
    config.l_archivedir,
    resolveSlaves(config).map((s) => s.name),
  );
  if (a.noDaemon && config.warm_path && config.state === 'online') {
    // Bad input starts nothing at all: refused here exactly as the standalone run would.
    await resolveSegment(a.file, config.pgdata, fsp);
    const answer = await startAndAsk(config, a, log);
    if (answer !== undefined && 'verdict' in answer) {
      if (answer.verdict.kind === 'archived') return ExitCode.OK;
      throw verdictError(answer.verdict);
    }
    if (answer !== undefined) log.debug(`warm path not used: ${answer.fallback}`);
  }
  // The SSH stack is loaded only here: asking a cmd_queue needs none of it.
  const { archiveCommand } = await import('../commands/archive.js');
  let result: ArchiveResult;
  const stopGc = paceGc();
  try {
    result = await archiveCommand({ config, file: a.file, log, dirsChecked: true });
  } catch (err) {
    // Offline: the warm cmd_queue answers that too. Bad input: start nothing at all.
    if (err instanceof PitrError && err.code === 'ARCHIVING_OFFLINE' && config.warm_path) await ensureQueueRunner(config, log);
    throw err;
  } finally {
    stopGc();
  }
  const queued = [...result.outcomes.values()].some((o) => o.kind === 'queued');
  if (config.warm_path || queued) await ensureQueueRunner(config, log);
  if (result.error) throw result.error;
  return ExitCode.OK;
}

async function ensureQueueRunner(config: ArchiverConfig, log: Logger): Promise<void> {
  const pid = await startDaemon(resolve(config.file), config.l_archivedir).catch((e: unknown) => {
    // A refusal (a link planted as its log) is the operator's to fix: say it where PostgreSQL logs.
    if (e instanceof PitrError) log.warning(`cmd_queue not started: ${e.message}; ${e.hint ?? ''}`);
    else log.debug(`cmd_queue not started: ${String(e)}`);
  });
  if (pid !== undefined) log.debug(`started cmd_queue (pid ${pid})`);
}

/** The process entry for the fast path's fallback. */
export function runArchiveMain(a: ArchiveRunArgs): Promise<never> {
  return runMain('cmd_archiver', () => runArchive(a));
}

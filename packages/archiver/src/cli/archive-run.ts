/**
 * cmd_archiver -C ini -F %p when the sh front end did not answer from a proof marker. With the
 * warm path on and the segment marked .ready, it waits for cmd_queue's proof marker (starting
 * cmd_queue when none runs: the first segment after PostgreSQL starts), as the front end does
 * (warm/await-proof.ts). When no marker comes (cmd_queue left `NAME.ask`: a conflict, a failure;
 * offline; the daemon is gone), this process does the whole job itself, so every answer other
 * than "archived" comes from this one path (archive/verdict.ts); then it (re)starts cmd_queue so
 * that the next segment finds it (or, with warm_path off, so that what was queued gets delivered).
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { ExitCode, PitrError } from '@pitrtools/core/errors';
import { dropTempsOnSignal } from '@pitrtools/core/fs/temp-registry';
import { runMain } from '@pitrtools/cli/exit';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import type { Logger } from '@pitrtools/core/log';
import { resolveSlaves } from '@pitrtools/core/config/ssh-targets';
import { checkQueueDirs } from '../adapters/fs-queue-store.js';
import { resolveSegment, type ResolvedSegment } from '../archive/segment-input.js';
import type { ArchiveResult } from '../commands/archive.js';
import { runningDaemon } from '../daemon/pidfile.js';
import { paceGc } from '../gc-pacer.js';
import { startDaemon } from '../daemon/spawn.js';
import { awaitProof } from '../warm/await-proof.js';
import { loadForCommand } from './setup.js';

/** What the slow path is given. */
export interface ArchiveRunArgs {
  config: string;
  file: string;
  verbose?: boolean;
}

/** How long a cmd_queue just started may take to come up, on top of the time to ship a segment. */
const START_WAIT_MS = 5000;

/**
 * Waits for cmd_queue's proof of `seg` (starting cmd_queue when none runs); undefined when it
 * came, else why not. Only for files PostgreSQL marked .ready: its archiver asks for nothing
 * else, and the look-ahead ships nothing else (a run by hand is done here at once).
 */
async function warmProof(config: ArchiverConfig, a: ArchiveRunArgs, seg: ResolvedSegment, log: Logger): Promise<string | undefined> {
  const ready = join(config.pgdata, 'pg_wal', 'archive_status', `${seg.name}.ready`);
  if (
    !(await fsp.lstat(ready).then(
      () => true,
      () => false,
    ))
  )
    return `${seg.name} is not marked .ready`;
  let pid = await runningDaemon(config.l_archivedir);
  let started = false;
  if (pid === undefined) {
    try {
      pid = (await startDaemon(resolve(config.file), config.l_archivedir)) ?? (await runningDaemon(config.l_archivedir));
    } catch (err) {
      if (err instanceof PitrError) return err.message; // refused (a link as its log): said by ensureQueueRunner
      throw err;
    }
    if (pid === undefined) return 'cmd_queue did not start';
    started = true;
    log.debug(`started cmd_queue (pid ${pid}); waiting for its proof marker of ${seg.name}`);
  }
  // As long as the daemon's own bound on one shipment: each slave's connection, then slave_deadline.
  const connectMs = Math.max(...resolveSlaves(config).map((s) => s.connectTimeoutMs));
  const answer = await awaitProof({
    lArchivedir: config.l_archivedir,
    ini: resolve(a.config),
    wal: seg.path,
    name: seg.name,
    daemonPid: pid,
    deadlineMs: (started ? START_WAIT_MS : 0) + 2 * connectMs + 60_000,
  });
  return answer.proved ? undefined : answer.reason;
}

/** Archives one segment (proved by cmd_queue, else standalone); returns the exit code. */
export async function runArchive(a: ArchiveRunArgs): Promise<number> {
  const { config, log } = loadForCommand('cmd_archiver', a.config, a.verbose ?? false);
  // Not ours (or writable by others): exit 2 before a cmd_queue is started or anything written.
  await checkQueueDirs(
    config.l_archivedir,
    resolveSlaves(config).map((s) => s.name),
  );
  if (config.warm_path && config.state === 'online') {
    // Bad input starts nothing at all: refused here exactly as the standalone run would.
    const seg = await resolveSegment(a.file, config.pgdata, fsp);
    const why = await warmProof(config, a, seg, log);
    if (why === undefined) return ExitCode.OK;
    log.debug(`warm path not used: ${why}`);
  }
  // The SSH stack is loaded only here: waiting for a proof needs none of it.
  const { archiveCommand } = await import('../commands/archive.js');
  let result: ArchiveResult;
  const stopGc = paceGc();
  // PostgreSQL's shutdown signals our process group: the queue's temp files go with us.
  const releaseSignals = dropTempsOnSignal();
  try {
    result = await archiveCommand({ config, file: a.file, log, dirsChecked: true });
  } catch (err) {
    // Offline: cmd_queue must run to deliver the queues when archiving resumes. Bad input: start nothing at all.
    if (err instanceof PitrError && err.code === 'ARCHIVING_OFFLINE' && config.warm_path) await ensureQueueRunner(config, log);
    throw err;
  } finally {
    releaseSignals();
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

/**
 * cmd_archiver -F %p without the warm path: validate the file, honour state, ship to every slave
 * in parallel (each bounded by its own slave_deadline), queue for the ones that cannot take it.
 * Exit 0 only when the segment is durable on every slave or in its queue.
 */
import { promises as fsp } from 'node:fs';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { ExitCode, PitrError } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { checkQueueDirs } from '../adapters/fs-queue-store.js';
import { oneShotLink } from '../adapters/ssh-link.js';
import { noteState } from '../archive/claims.js';
import { deliverWithin } from '../archive/slave-deadline.js';
import { describeOutcome, type SlaveOutcome } from '../archive/outcome.js';
import { offlineVerdict, verdictError, verdictFor } from '../archive/verdict.js';
import { resolveSegment } from '../archive/segment-input.js';
import { archiverRuntime } from '../runtime.js';

/** Options of the -F command. */
export interface ArchiveOptions {
  config: ArchiverConfig;
  /** -F as given (%p). */
  file: string;
  log: Logger;
  /** The caller already ran checkQueueDirs in this process. */
  dirsChecked?: boolean;
}

/** What one archive run did; `error` (exit code 1 or 4) when the segment is not safely archived. */
export interface ArchiveResult {
  code: number;
  /** Per slave queue name. */
  outcomes: Map<string, SlaveOutcome>;
  error?: PitrError;
}

/** Archives one WAL file; throws PitrError for bad input or a queue directory not ours (DIR_NOT_PRIVATE; exit 2) and offline (3); unsafe outcomes come back with `error`. */
export async function archiveCommand(opts: ArchiveOptions): Promise<ArchiveResult> {
  const rt = archiverRuntime(opts.config, opts.log);
  const seg = await resolveSegment(opts.file, opts.config.pgdata, fsp);
  // Before anything is written there (the offline claim, a queued segment): exit 2 if not ours.
  if (!opts.dirsChecked)
    await checkQueueDirs(
      opts.config.l_archivedir,
      rt.slaves.map((s) => s.name),
    );
  if (!(await noteState(rt, opts.config.state === 'offline', rt.configFile))) {
    await rt.alertsSettled();
    throw verdictError(offlineVerdict(seg.name, rt.configFile));
  }
  const links = rt.slaves.map((s) => oneShotLink(s, opts.config.ssh_debug, opts.log));
  const outcomes = new Map<string, SlaveOutcome>();
  try {
    await Promise.all(
      rt.slaves.map(async (s, i) => {
        // Past the deadline this process queues and exits: the upload is cut (its temp file on the
        // slave is removed later by cmd_queue's removeStaleTemps) and cmd_queue ships from the queue.
        outcomes.set(s.name, await deliverWithin(rt.contextFor(s, links[i]!), seg, { deadlineMs: s.deadlineMs, abandon: () => links[i]!.cut() }));
      }),
    );
  } finally {
    await Promise.all(links.map((l) => l.close()));
    await rt.alertsSettled();
  }
  const verdict = verdictFor(seg.name, outcomes);
  for (const [name, o] of outcomes) {
    if (o.kind === 'delivered') opts.log.debug(`${seg.name}: ${describeOutcome(name, o)}`);
    else if (o.kind === 'queued' || o.kind === 'detached') opts.log.notice(`${seg.name}: ${describeOutcome(name, o)}`);
  }
  if (verdict.kind === 'archived') return { code: ExitCode.OK, outcomes };
  const error = verdictError(verdict);
  return { code: error.exitCode, outcomes, error };
}

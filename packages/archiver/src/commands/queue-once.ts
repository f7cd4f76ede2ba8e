/**
 * cmd_queue --once: one delivery pass over every queue (max_queue_workers slaves at a time) with
 * fresh connections, then exit; for cron, scripts, or while PostgreSQL is down.
 */
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { ExitCode } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { checkQueueDirs, requireQueueRoot } from '../adapters/fs-queue-store.js';
import { oneShotLink } from '../adapters/ssh-link.js';
import { drainQueue, scanQueue } from '../archive/deliver.js';
import pLimit from 'p-limit';
import { archiverRuntime } from '../runtime.js';

/** Per slave: delivered now, still waiting, and why it stopped. */
export interface OnceResult {
  code: number;
  slaves: Array<{ name: string; delivered: number; remaining: number; detached: boolean; stopped?: string }>;
}

/** Delivers every queue once; exit code 1 when something is still queued for an attached slave; throws QUEUE_MISSING (exit 1) when l_archivedir is not there, DIR_NOT_PRIVATE (exit 2) for a queue directory not ours. */
export async function queueOnce(o: { config: ArchiverConfig; log: Logger }): Promise<OnceResult> {
  const rt = archiverRuntime(o.config, o.log);
  // Not "0 delivered": a queue that is not there is no empty queue (--check says UNKNOWN).
  await requireQueueRoot(o.config.l_archivedir, rt.configFile);
  await checkQueueDirs(
    o.config.l_archivedir,
    rt.slaves.map((s) => s.name),
  );
  const slaves: OnceResult['slaves'] = [];
  const limit = pLimit(Math.max(1, o.config.max_queue_workers));
  await Promise.all(
    rt.slaves.map((s) =>
      limit(async () => {
        const link = oneShotLink(s, o.config.ssh_debug, o.log);
        try {
          const ctx = rt.contextFor(s, link);
          const scan = await scanQueue(ctx);
          if (scan.detached !== undefined) {
            slaves.push({ name: s.name, delivered: 0, remaining: scan.files.length, detached: true });
            return;
          }
          const r = scan.files.length > 0 ? await drainQueue(ctx, scan, Number.POSITIVE_INFINITY) : { delivered: 0, remaining: [] };
          slaves.push({
            name: s.name,
            delivered: r.delivered,
            remaining: r.remaining.length,
            detached: false,
            ...('stopped' in r && r.stopped ? { stopped: r.stopped.reason } : {}),
          });
        } finally {
          await link.close();
        }
      }),
    ),
  );
  await rt.alertsSettled();
  const stuck = slaves.some((s) => !s.detached && s.remaining > 0);
  return { code: stuck ? ExitCode.FAILED : ExitCode.OK, slaves };
}

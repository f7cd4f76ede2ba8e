/**
 * cmd_archiver --reset-slave NAME: reattach a slave whose queue was dropped (queue_max_bytes).
 * From then on every segment is again delivered to it or queued for it.
 */
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { PitrError } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { checkQueueDirs } from '../adapters/fs-queue-store.js';
import { Claim } from '../archive/claims.js';
import { archiverRuntime } from '../runtime.js';

/** Removes the slave's NEEDS_BASE_BACKUP marker; returns what was done, for people; throws DIR_NOT_PRIVATE (exit 2) for a queue directory not ours. */
export async function resetSlaveCommand(o: { config: ArchiverConfig; log: Logger; slave: string }): Promise<string> {
  const rt = archiverRuntime(o.config, o.log);
  const slave = rt.slaves.find((s) => s.name === o.slave || s.entry === o.slave);
  if (!slave) {
    throw new PitrError('UNKNOWN_SLAVE', `--reset-slave ${JSON.stringify(o.slave)}: no such slave in ${rt.configFile}`, {
      hint: `slaves: ${rt.slaves.map((s) => s.name).join(', ')}`,
    });
  }
  await checkQueueDirs(o.config.l_archivedir, [slave.name]);
  const had = await rt.store.resetMarker(slave.name);
  for (const c of [Claim.OUTAGE, Claim.OVER_WARN, Claim.OVER_CRITICAL]) await rt.store.release(slave.name, c).catch(() => undefined);
  if (!had) return `slave ${slave.name} was not detached; nothing to do`;
  o.log.info(`slave ${slave.name} reattached by --reset-slave`);
  return (
    `slave ${slave.name} reattached: every new segment is again delivered to it or queued for it. ` +
    'If it has not had a new base backup since it was dropped, take one now (cmd_standby -B on the slave).'
  );
}

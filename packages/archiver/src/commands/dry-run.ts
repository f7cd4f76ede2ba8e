/**
 * cmd_archiver -n -F %p: what a real run would do with this file, slave by slave, changing
 * nothing: no upload, no queue write, no alert. It connects to see whether the name is already
 * on the slave (the real run compares the bytes; here only the size is looked at).
 */
import { promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { resolveSlaves } from '@pitrtools/core/config/ssh-targets';
import { humanBytes } from '@pitrtools/core/bytes';
import type { Logger } from '@pitrtools/core/log';
import { fsQueueStore } from '../adapters/fs-queue-store.js';
import { oneShotLink } from '../adapters/ssh-link.js';
import { remoteReason } from '../archive/deliver.js';
import type { LinkProvider } from '../archive/ports.js';
import { resolveSegment } from '../archive/segment-input.js';

/** Options of the dry run; `link` replaces SSH in tests. */
export interface DryRunOptions {
  config: ArchiverConfig;
  file: string;
  log: Logger;
  link?: (slave: ReturnType<typeof resolveSlaves>[number]) => LinkProvider & { close(): Promise<void> };
}

/** Lines saying what would happen; throws like the real run for a bad -F. */
export async function dryRunCommand(o: DryRunOptions): Promise<string[]> {
  const c = o.config;
  const seg = await resolveSegment(o.file, c.pgdata, fsp);
  const lines = [`would archive ${seg.path} (${humanBytes(seg.size)}) to ${c.slaves.length} slaves`];
  if (c.state === 'offline') {
    return [...lines, 'state is offline: the real run would refuse (exit 3) and run notify_warning once for this offline period'];
  }
  const store = fsQueueStore(c.l_archivedir);
  const slaves = resolveSlaves(c);
  const perSlave = await Promise.all(
    slaves.map(async (s) => {
      const scan = await store.scan(s.name).catch(() => undefined);
      const out: string[] = [];
      const head = `slave ${s.name} (${s.user}@${s.host}:${s.port}):`;
      if (scan?.detached !== undefined) out.push(`${head} detached (queue dropped); would try to deliver, best effort, not counted`);
      const queued = scan?.files ?? [];
      const bytes = queued.reduce((n, f) => n + f.size, 0);
      if (queued.length > 0) out.push(`${head} ${queued.length} queued segments (${humanBytes(bytes)}) would go first, for at most ${c.queue_drain_budget}s`);
      const link = (o.link ?? ((t) => oneShotLink(t, c.ssh_debug, o.log)))(s);
      try {
        const there = await (await link.get()).stat(seg.name);
        const target = posix.join(s.r_archivedir, seg.name);
        if (there === undefined) out.push(`${head} reachable; would upload to ${target}`);
        else if (there.size === seg.size)
          out.push(`${head} reachable; ${target} exists with the same size: success if the bytes match, else a conflict (exit 4)`);
        else out.push(`${head} reachable; ${target} exists with another size (${there.size}): the real run would refuse to overwrite it (exit 4) and alert`);
      } catch (err) {
        const into = posix.join(c.l_archivedir, s.name, seg.name);
        const max = c.queue_max_bytes;
        out.push(
          max !== null && bytes + seg.size > max
            ? `${head} unreachable (${remoteReason(err)}); queueing would pass queue_max_bytes (${humanBytes(max)}): the queue would be dropped`
            : `${head} unreachable (${remoteReason(err)}); would queue ${into}`,
        );
      } finally {
        await link.close();
      }
      return out;
    }),
  );
  return [...lines, ...perSlave.flat(), 'dry run: nothing was written, uploaded or alerted'];
}

/**
 * cmd_archiver -C ini (no -F): the ini loads ("Config OK"), then, as information only, whether
 * each slave answers and has r_archivedir, what the queues hold and whether cmd_queue runs. An
 * unreachable slave is a warning, not an error: archiving then queues for it.
 */
import { promises as fsp } from 'node:fs';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { resolveSlaves, type SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import { formatBytes } from '@pitrtools/core/config/values';
import { errorMessage, PitrError } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { connectSsh } from '@pitrtools/core/ssh/index';
import { DIR_NOT_PRIVATE } from '@pitrtools/core/fs/ownership';
import { checkQueueDirs, fsQueueStore } from '../adapters/fs-queue-store.js';
import { sshTargetOf } from '../adapters/ssh-link.js';
import { runningDaemon } from '../daemon/pidfile.js';

/** One line of the report: INFO or WARNING, with an optional hint. */
export interface ReportLine {
  level: 'INFO' | 'WARNING';
  text: string;
  hint?: string;
}

/** Looks at r_archivedir over a fresh connection; throws when the slave cannot be reached. */
export type SlaveProbe = (t: SlaveTarget) => Promise<string>;

/** The real probe: connect, stat r_archivedir, disconnect. */
export function sshProbe(log: Logger, sshDebug: boolean): SlaveProbe {
  return async (t) => {
    const s = await connectSsh(sshTargetOf(t, sshDebug, log), log);
    try {
      const st = await s.statIfExists(t.r_archivedir);
      if (st === undefined) return `r_archivedir ${t.r_archivedir} does not exist there`;
      return st.isDirectory ? `r_archivedir ${t.r_archivedir} is there` : `r_archivedir ${t.r_archivedir} is not a directory`;
    } finally {
      await s.close();
    }
  };
}

/** Checks what can be checked without shipping anything; the config itself was checked by loading it. */
export async function validateCommand(o: { config: ArchiverConfig; log: Logger; probe?: SlaveProbe }): Promise<ReportLine[]> {
  const c = o.config;
  const probe = o.probe ?? sshProbe(o.log, c.ssh_debug);
  const slaves = resolveSlaves(c);
  const lines: ReportLine[] = [];
  if (c.state === 'offline') lines.push({ level: 'WARNING', text: 'state is offline: every archive_command call fails (exit 3) until it is online' });
  const probed = await Promise.all(slaves.map(async (t): Promise<ReportLine> => {
    const who = `slave ${t.name} (${t.user}@${t.host}:${t.port})`;
    try {
      const dir = await probe(t);
      return { level: dir.endsWith('is there') ? 'INFO' : 'WARNING', text: `${who}: reachable; ${dir}` };
    } catch (err) {
      return {
        level: 'WARNING', text: `${who}: unreachable: ${errorMessage(err)}; segments would be queued for it`,
        ...(err instanceof PitrError && err.hint ? { hint: err.hint } : {}),
      };
    }
  }));
  lines.push(...probed);
  const exists = await fsp.stat(c.l_archivedir).then((s) => s.isDirectory(), () => false);
  if (!exists) {
    lines.push({ level: 'WARNING', text: `l_archivedir ${c.l_archivedir} does not exist: nothing can be queued`, hint: `cmd_archiver -C ${c.file} -I` });
    return lines;
  }
  // What -F and cmd_queue would refuse (exit 2): say it here, with the fix.
  const refused = await checkQueueDirs(c.l_archivedir, slaves.map((t) => t.name)).then(() => undefined, (e: unknown) => {
    if (e instanceof PitrError && e.code === DIR_NOT_PRIVATE) return e;
    throw e;
  });
  if (refused) {
    lines.push({ level: 'WARNING', text: `${refused.message}: every archive_command call fails (exit 2) until it is fixed`, ...(refused.hint ? { hint: refused.hint } : {}) });
    return lines;
  }
  const store = fsQueueStore(c.l_archivedir);
  for (const t of slaves) {
    const scan = await store.scan(t.name);
    const bytes = scan.files.reduce((n, f) => n + f.size, 0);
    if (scan.detached !== undefined) lines.push({ level: 'WARNING', text: `slave ${t.name} is detached (queue dropped): ${scan.detached.trim()}`, hint: `cmd_archiver -C ${c.file} --reset-slave ${t.name}` });
    else lines.push({ level: 'INFO', text: `queue ${c.l_archivedir}/${t.name}: ${scan.files.length === 0 ? 'empty' : `${scan.files.length} segments (${formatBytes(bytes)})`}` });
  }
  const pid = await runningDaemon(c.l_archivedir);
  lines.push({ level: 'INFO', text: pid !== undefined ? `cmd_queue is running (pid ${pid})` : 'cmd_queue is not running (cmd_archiver starts it when needed)' });
  return lines;
}

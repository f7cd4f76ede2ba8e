/**
 * cmd_archiver -C ini (no -F): the ini loads ("Config OK"), then, as information only, whether
 * each slave answers and has r_archivedir, what the queues hold and whether cmd_queue runs. An
 * unreachable slave is a warning, not an error: archiving then queues for it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { resolveSlaves, type SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import { humanBytes } from '@pitrtools/core/bytes';
import { errorMessage, PitrError } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { codecFor, formatCompress } from '@pitrtools/core/compress';
import { connectSsh, type SshSession } from '@pitrtools/core/ssh/index';
import { openWalStream, ReceiverUnavailable } from '@pitrtools/core/ssh/wal-stream';
import { PiecePool } from '@pitrtools/core/wire/send';
import { DIR_NOT_PRIVATE, judgeOwnDir, type DirProblem } from '@pitrtools/core/fs/ownership';
import { checkQueueDirs, fsQueueStore } from '../adapters/fs-queue-store.js';
import { sshTargetOf } from '../adapters/ssh-link.js';
import { runningDaemon } from '../daemon/pidfile.js';

/** One line of the report: INFO or WARNING, with an optional hint. */
export interface ReportLine {
  level: 'INFO' | 'WARNING';
  text: string;
  hint?: string;
}

/** What the probe found in r_archivedir: `ok` when a segment could be written there. */
export interface DirProbe {
  ok: boolean;
  text: string;
  hint?: string;
}

/** Looks at r_archivedir over a fresh connection; throws when the slave cannot be reached. */
export type SlaveProbe = (t: SlaveTarget) => Promise<DirProbe>;

/**
 * The real probe: connect, stat r_archivedir, then create and remove a file there (named like an
 * upload's temp file, so a leftover is cleaned like one): a directory that exists but refuses our
 * writes would otherwise pass the check and queue every segment.
 */
export function sshProbe(log: Logger, sshDebug: boolean): SlaveProbe {
  return async (t) => {
    const s = await connectSsh(sshTargetOf(t, sshDebug, log), log);
    const dir = t.r_archivedir;
    try {
      const st = await s.statIfExists(dir);
      if (st === undefined)
        return { ok: false, text: `r_archivedir ${dir} does not exist there`, hint: `create it on the slave as ${t.user}: install -d -m 0700 ${dir}` };
      if (!st.isDirectory) return { ok: false, text: `r_archivedir ${dir} is not a directory` };
      const ch = await s.openSftp();
      const probe = posix.join(dir, `.pitrtools-check.${randomBytes(8).toString('hex')}.tmp`);
      let problem: DirProblem | undefined;
      try {
        const h = await ch.open(probe, 'wx', 0o600);
        // Who we are there (the probe's owner), and the directory itself, judged as every upload judges it.
        const [mine, lst] = await Promise.all([ch.fstat(h, probe), ch.lstat(dir)]);
        await ch.close(h, probe);
        await ch.unlink(probe);
        problem = judgeOwnDir(lst, dir, mine.uid, t.user);
      } catch (err) {
        return {
          ok: false,
          text: `r_archivedir ${dir} is there but ${t.user} cannot write in it: ${errorMessage(err)}`,
          hint: `on the slave, give ${t.user} the directory: chown ${t.user} ${dir}; chmod 0700 ${dir}`,
        };
      } finally {
        ch.end();
      }
      if (problem !== undefined)
        return {
          ok: false,
          text: `r_archivedir ${dir} is not ours alone: it ${problem.problem}; every segment would be refused there`,
          hint: `on the slave, ${problem.hint}`,
        };
      if (t.compress.algo !== 'none') return await receiverProbe(s, t);
      return { ok: true, text: `r_archivedir ${dir} is there and writable` };
    } finally {
      await s.close();
    }
  };
}

/**
 * With compress: starts the WAL receiver on the slave (slave_cmd_standby --receive-wal-stream) as
 * a segment would, waits for its hello and ends it: a receiver that cannot start would otherwise
 * show only at the first -F, as a WARNING and segments shipped uncompressed.
 */
async function receiverProbe(s: SshSession, t: SlaveTarget): Promise<DirProbe> {
  const writable = `r_archivedir ${t.r_archivedir} is there and writable`;
  const compress = formatCompress(t.compress);
  try {
    const stream = await openWalStream(s, {
      cmdStandby: t.cmdStandby,
      dir: t.r_archivedir,
      pieces: new PiecePool(codecFor(t.compress)),
      dirFsync: t.remoteDirFsync,
      helloTimeoutMs: Math.max(t.connectTimeoutMs, 10_000),
    });
    await stream.ready.finally(() => stream.end());
    return { ok: true, text: `${writable}; the WAL receiver for compress: ${compress} answers (${t.cmdStandby})` };
  } catch (err) {
    if (!(err instanceof ReceiverUnavailable)) throw err;
    return {
      ok: false,
      text: `${writable}, but compress: ${compress} needs the WAL receiver on the slave and ${err.message}; segments would go uncompressed over SFTP`,
      hint: `install this pitrtools version on the slave, or set slave_cmd_standby to its cmd_standby (e.g. /usr/local/bin/cmd_standby), or compress: none`,
    };
  }
}

/** Checks what can be checked without shipping anything; the config itself was checked by loading it. */
export async function validateCommand(o: { config: ArchiverConfig; log: Logger; probe?: SlaveProbe }): Promise<ReportLine[]> {
  const c = o.config;
  const probe = o.probe ?? sshProbe(o.log, c.ssh_debug);
  const slaves = resolveSlaves(c);
  const lines: ReportLine[] = [];
  if (c.state === 'offline') lines.push({ level: 'WARNING', text: 'state is offline: every archive_command call fails (exit 3) until it is online' });
  const probed = await Promise.all(
    slaves.map(async (t): Promise<ReportLine> => {
      const who = `slave ${t.name} (${t.entry !== t.name ? `[${t.entry}] in the ini, ` : ''}${t.user}@${t.host}:${t.port})`;
      try {
        const dir = await probe(t);
        return { level: dir.ok ? 'INFO' : 'WARNING', text: `${who}: reachable; ${dir.text}`, ...(dir.hint !== undefined ? { hint: dir.hint } : {}) };
      } catch (err) {
        return {
          level: 'WARNING',
          text: `${who}: unreachable: ${errorMessage(err)}; segments would be queued for it`,
          ...(err instanceof PitrError && err.hint ? { hint: err.hint } : {}),
        };
      }
    }),
  );
  lines.push(...probed);
  const exists = await fsp.stat(c.l_archivedir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists) {
    lines.push({ level: 'WARNING', text: `l_archivedir ${c.l_archivedir} does not exist: nothing can be queued`, hint: `cmd_archiver -C ${c.file} -I` });
    return lines;
  }
  // What -F and cmd_queue would refuse (exit 2): say it here, with the fix.
  const refused = await checkQueueDirs(
    c.l_archivedir,
    slaves.map((t) => t.name),
  ).then(
    () => undefined,
    (e: unknown) => {
      if (e instanceof PitrError && e.code === DIR_NOT_PRIVATE) return e;
      throw e;
    },
  );
  if (refused) {
    lines.push({
      level: 'WARNING',
      text: `${refused.message}: every archive_command call fails (exit 2) until it is fixed`,
      ...(refused.hint ? { hint: refused.hint } : {}),
    });
    return lines;
  }
  const store = fsQueueStore(c.l_archivedir);
  for (const t of slaves) {
    const scan = await store.scan(t.name);
    const bytes = scan.files.reduce((n, f) => n + f.size, 0);
    if (scan.detached !== undefined)
      lines.push({
        level: 'WARNING',
        text: `slave ${t.name} is detached (queue dropped): ${scan.detached.trim()}`,
        hint: `cmd_archiver -C ${c.file} --reset-slave ${t.name}`,
      });
    else
      lines.push({
        level: 'INFO',
        text: `queue ${c.l_archivedir}/${t.name}: ${scan.files.length === 0 ? 'empty' : `${scan.files.length} segments (${humanBytes(bytes)})`}`,
      });
  }
  const pid = await runningDaemon(c.l_archivedir);
  lines.push({
    level: 'INFO',
    text: pid !== undefined ? `cmd_queue is running (pid ${pid})` : 'cmd_queue is not running (cmd_archiver starts it when needed)',
  });
  return lines;
}

/**
 * One cmd_queue per l_archivedir: a pid file created with link(2) (atomic, never overwritten).
 * A pid file whose process is gone, or is no cmd_queue (the pid was reused), is stale.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { PitrError, errorCode } from '@pitrtools/core/errors';
import { CREATE_NEW, readOwnFile, writeOwnFile } from '@pitrtools/core/fs/ownership';

/** Pid file name inside l_archivedir. */
export const PID_FILE = '.cmd_queue.pid';

/** True when `pid` is a live cmd_queue of ours (on Linux, its command line is checked). */
export async function isQueueProcess(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // gone, or another user's process (EPERM): not our daemon either way
  }
  try {
    return (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('cmd_queue');
  } catch {
    // No /proc (not Linux): a live pid has to do. With /proc, the process just ended.
    return !(await fsp.stat('/proc/self').then(
      () => true,
      () => false,
    ));
  }
}

/** The pid of the running cmd_queue for `lArchivedir`, or undefined. */
export async function runningDaemon(lArchivedir: string): Promise<number | undefined> {
  const text = await readOwnFile(join(lArchivedir, PID_FILE)).catch(() => undefined);
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return (await isQueueProcess(pid)) ? pid : undefined;
}

/** Takes the pid file for this process; returns the pid of another live cmd_queue instead when there is one; throws SYMLINK_REFUSED (exit 2) for a link at its name. */
export async function acquirePidFile(lArchivedir: string): Promise<{ release(): Promise<void> } | { running: number }> {
  const file = join(lArchivedir, PID_FILE);
  const mine = `${process.pid}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = join(lArchivedir, `${PID_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    await writeOwnFile(tmp, mine, CREATE_NEW);
    try {
      await fsp.link(tmp, file);
      return {
        release: async () => {
          // Only remove it while it is still ours.
          if ((await readOwnFile(file).catch(() => '')) === mine) await fsp.rm(file, { force: true });
        },
      };
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    // A link there is nobody's pid file: refused (exit 2), never read through nor removed.
    const text = await readOwnFile(file).catch((err: unknown) => {
      if (err instanceof PitrError) throw err;
      return '';
    });
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && (await isQueueProcess(pid))) return { running: pid };
    // Stale: remove it unless someone replaced it meanwhile, then try again.
    if ((await readOwnFile(file).catch(() => '')) === text) await fsp.rm(file, { force: true });
  }
  throw new Error(`cannot take the pid file ${file}`);
}

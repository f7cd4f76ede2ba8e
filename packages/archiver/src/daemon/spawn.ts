/**
 * cmd_archiver starts cmd_queue when it is not running: detached in its own session (setsid), by
 * argument array, no shell, stdio closed (PostgreSQL's archiver must not wait on our pipes),
 * logging to l_archivedir/cmd_queue.log.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkRefused } from '@pitrtools/core/fs/ownership';
import { runningDaemon } from './pidfile.js';

/** The log file of a cmd_queue started in the background. */
export const QUEUE_LOG = 'cmd_queue.log';

/** Path of the sh front end bin/cmd_archiver of this installation (what archive_command runs). */
export function frontEndBin(): string {
  return fileURLToPath(new URL('../../bin/cmd_archiver', import.meta.url));
}

/** Path of the cmd_queue executable shim of this installation. */
export function cmdQueueBin(): string {
  return fileURLToPath(new URL('../../bin/cmd_queue.js', import.meta.url));
}

/**
 * Starts cmd_queue in the background unless one is running; returns the new pid, or undefined.
 * Throws PitrError SYMLINK_REFUSED (exit 2) when its log l_archivedir/cmd_queue.log is a
 * symbolic link (cmd_queue would refuse it where nobody reads its stderr).
 */
export async function startDaemon(configFile: string, lArchivedir: string): Promise<number | undefined> {
  if (
    !(await fsp.lstat(lArchivedir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return undefined;
  if ((await runningDaemon(lArchivedir)) !== undefined) return undefined;
  const logFile = join(lArchivedir, QUEUE_LOG);
  if ((await fsp.lstat(logFile).catch(() => undefined))?.isSymbolicLink()) throw linkRefused(logFile);
  // --expose-gc: gc-pacer.ts frees ssh2's per-packet buffers while segments are uploaded.
  // --max-semi-space-size=2 (MiB): with those minor GCs every few ms a larger young generation
  // only grows the heap (41 MB instead of 13 MB during a 3-slave burst), never saves time.
  const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=2', cmdQueueBin(), '-C', configFile, '--log-file', logFile], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
  });
  child.on('error', () => undefined); // reported by the next run, which finds no daemon
  child.unref();
  return child.pid;
}

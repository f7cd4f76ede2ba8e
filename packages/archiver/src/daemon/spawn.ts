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

/**
 * glibc malloc settings for our processes that move WAL: ssh2 allocates a fresh buffer per SSH
 * packet (32 KiB) and per SFTP write (255 KiB), and glibc gives the freed top of its heap back to
 * the kernel as soon as more than twice its (dynamic, here ~256 KiB) mmap threshold is free, so
 * the next buffers take new pages: page faults all along a burst. With these values buffers up
 * to 1 MiB (bytes) come from the heap, up to 32 MiB of its free top stays in the process, and two
 * arenas (not one per thread) hold what the process keeps. Measured with bench/_exp harnesses,
 * interleaved runs, 25-segment loopback burst: cmd_queue's minor faults 32 000-60 000 -> 9 000-13 000
 * (1 slave) and 45 000-92 000 -> 14 000-17 000 (3 slaves); burst median 9.26 -> 6.42 s (1 slave)
 * on a VM where a page's first touch costs ~15 us (its balloon returns freed memory to the host);
 * 100 Mbit/s burst of 6 segments 10.8-12.2 -> 9.7-10.4 s with peak RSS 77-86 -> 81-87 MB.
 * Names and meaning: mallopt(3) M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_ARENA_MAX, read from the
 * environment at process start (no effect with another libc). A value the environment already
 * has wins. The sh front end (bin/cmd_archiver) sets the same values for the Node.js it starts.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '1048576',
  MALLOC_TRIM_THRESHOLD_: '33554432',
  MALLOC_ARENA_MAX: '2',
};

/** `env` with MALLOC_ENV's values (decimal strings: bytes for the thresholds, a count for the arenas) where it has none. */
export function withMallocEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [k, v] of Object.entries(MALLOC_ENV)) if (out[k] === undefined) out[k] = v;
  return out;
}

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
    env: withMallocEnv(process.env),
  });
  child.on('error', () => undefined); // reported by the next run, which finds no daemon
  child.unref();
  return child.pid;
}

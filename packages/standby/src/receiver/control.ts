/**
 * Starting, stopping and finding the WAL receiver's supervisor (supervisor.ts), which runs
 * detached in its own session with pg_receivewal as its child: stopping signals the whole
 * process group, so no pg_receivewal is left holding the slot.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, promises as fsp } from 'node:fs';
import { PitrError } from '@pitrtools/core/errors';
import type { Ctx } from '../context.js';
import { selfInvocation } from '../recovery/settings-files.js';
import { moveComplete, placePartial, receiveDir, receiverFiles } from './files.js';
import { receivewalBinary } from './supervisor.js';

/** The supervisor's pid when one runs for this ini's archivedir. */
export async function receiverPid(ctx: Ctx): Promise<number | undefined> {
  const text = await fsp.readFile(receiverFiles(ctx.config).pid, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return (await isReceiver(pid)) ? pid : undefined;
}

// A pid file outliving its process (or a reused pid) must not count: check what runs there
// (a process that has exited, zombie or gone, has no command line).
async function isReceiver(pid: number): Promise<boolean> {
  return (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('--receive-wal');
}

/** Starts the supervisor unless wal_receiver is off or one runs; returns its pid. Throws RECEIVEWAL_* when it cannot. */
export async function startReceiver(ctx: Ctx, iniPath: string): Promise<number | undefined> {
  if (!ctx.config.wal_receiver) return undefined;
  const running = await receiverPid(ctx);
  if (running !== undefined) return running;
  await receivewalBinary(ctx);
  await fsp.mkdir(receiveDir(ctx.config), { recursive: true, mode: 0o700 });
  const files = receiverFiles(ctx.config);
  const self = selfInvocation(iniPath);
  const out = openSync(files.log, 'a', 0o600);
  try {
    const child = spawn(self.node, [self.script, '-C', self.ini, '--receive-wal'], { detached: true, stdio: ['ignore', out, out], cwd: '/' });
    child.unref();
  } finally {
    closeSync(out);
  }
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pid = await receiverPid(ctx);
    if (pid !== undefined) {
      ctx.log.info(`WAL receiver started (pid ${pid}; its log: ${files.log})`);
      return pid;
    }
    if (Date.now() > deadline) {
      throw new PitrError('RECEIVEWAL_NOT_STARTED', `the WAL receiver did not start within 10 s`, { hint: `see ${files.log}` });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops the supervisor and its pg_receivewal (SIGTERM to the group, SIGKILL after 15 s); true when one ran. */
export async function stopReceiver(ctx: Ctx): Promise<boolean> {
  const pid = await receiverPid(ctx);
  if (pid === undefined) return false;
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + 15_000;
  while (await isReceiver(pid)) {
    if (Date.now() > deadline) {
      signalGroup('SIGKILL');
      await fsp.rm(receiverFiles(ctx.config).pid, { force: true });
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  ctx.log.info(`WAL receiver stopped (pid ${pid})`);
  return true;
}

/**
 * Before -F999 promotes or -R recovers: stops the WAL receiver (so nothing changes under the
 * server), adds its complete segments to archivedir and puts the segment it was still receiving
 * into pg_wal, so that replay reaches the master's last flushed record, not the last archived one.
 */
export async function useReceivedWal(ctx: Ctx): Promise<void> {
  await stopReceiver(ctx);
  const recv = receiveDir(ctx.config);
  if (
    !(await fsp.stat(recv).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return;
  const moved = await moveComplete(recv, ctx.config.archivedir);
  for (const n of moved.conflicts) ctx.log.warning(`received ${n} differs from the one in ${ctx.config.archivedir}; the archived one is used`);
  const placed = await placePartial(ctx.config);
  if (placed !== undefined) ctx.log.info(`using the WAL receiver's partial segment ${placed}: replay goes up to the last record the master had sent`);
}

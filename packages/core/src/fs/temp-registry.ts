/**
 * Temp files being written, per thread, so that a graceful stop (SIGINT, SIGTERM) can remove
 * them before the process exits: process.exit() runs no finally blocks, and a temp left beside
 * its destination is found by the next run as a file the source does not have. Every writer
 * opens its temp with openTemp (tracked from before its open(2) to after its rename or removal);
 * other threads (the copy workers of -B) register a dropper that asks them to do the same with
 * theirs.
 *
 * An open(2) under way when the drop comes creates its file after the drop's unlink: dropTemps
 * waits for every such open and unlinks again, so once it has resolved no temp of this thread
 * is left and none can appear (the process may exit at once).
 */
import { promises as fsp, unlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { FileHandle } from 'node:fs/promises';

const live = new Set<string>();
const opening = new Set<Promise<unknown>>();
let closed = false;
const droppers = new Set<() => Promise<void>>();

/** The error of a temp refused or removed because the run is stopping (message starts with "stopping:"). */
function stoppingError(path: string, what: string): Error {
  return new Error(`stopping: ${path} ${what}`);
}

/**
 * Creates the temp file `path` with open(2) `flags` (O_CREAT | O_EXCL among them) and `mode`,
 * tracked until untrackTemp. Throws the open's error, or "stopping: …" once this thread's temps
 * were dropped (before the open, or while it was under way: then the file is removed).
 */
export async function openTemp(path: string, flags: number, mode: number): Promise<FileHandle> {
  if (closed) throw stoppingError(path, 'not created');
  live.add(path);
  const open = fsp.open(path, flags, mode);
  opening.add(open);
  let fh: FileHandle;
  try {
    fh = await open;
  } catch (err) {
    live.delete(path);
    throw err;
  } finally {
    opening.delete(open);
  }
  if (!live.has(path)) {
    // Dropped while the open was under way: dropTemps unlinks it once the open has settled.
    await fh.close().catch(() => undefined);
    throw stoppingError(path, 'removed');
  }
  return fh;
}

/** Forgets `path` (renamed into place or removed). */
export function untrackTemp(path: string): void {
  live.delete(path);
}

/** Whether `path` is still tracked: false once placed, removed or dropped. */
export function isTracked(path: string): boolean {
  return live.has(path);
}

function unlinkEach(paths: string[]): number {
  let n = 0;
  for (const p of paths) {
    try {
      unlinkSync(p);
      n++;
    } catch {
      // Already renamed into place, removed, or not created (yet): nothing of ours there now.
    }
  }
  return n;
}

/**
 * Removes this thread's tracked temps and refuses new ones (at once, before the first await),
 * then waits for the opens under way and removes what they created. Resolves to how many files
 * were removed; once it has, this thread has no temp on disk and starts none.
 */
export async function dropTemps(): Promise<number> {
  closed = true;
  const paths = [...live];
  live.clear();
  let n = unlinkEach(paths);
  if (opening.size > 0) {
    await Promise.allSettled([...opening]);
    n += unlinkEach(paths);
  }
  return n;
}

let signalHolds = 0;
let signalled = false;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

function onStopSignal(sig: NodeJS.Signals): void {
  if (signalled) return;
  signalled = true;
  void dropTemps()
    .catch(() => 0)
    .finally(() => {
      // With no listener left, Node.js gives the signal its default action back: the process ends
      // by it, as if it had not been caught. Another listener would catch it again: then the
      // shell's code for a death by that signal (128 + its number).
      for (const s of STOP_SIGNALS) process.removeListener(s, onStopSignal);
      if (process.listenerCount(sig) > 0) process.exit(128 + osConstants.signals[sig]);
      process.kill(process.pid, sig);
    });
}

/**
 * Until the returned function is called, a SIGTERM or SIGINT removes this thread's temp files
 * (dropTemps) and then ends the process by that same signal, as if it had not been caught.
 * For the commands PostgreSQL runs (restore_command, archive_command): on a shutdown its
 * postmaster signals the whole process group of the server's children (signal_child in
 * postmaster.c), our command included, and a temp left in pg_wal or a queue would stay there.
 */
export function dropTempsOnSignal(): () => void {
  if (signalHolds++ === 0) for (const s of STOP_SIGNALS) process.on(s, onStopSignal);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--signalHolds === 0 && !signalled) for (const s of STOP_SIGNALS) process.removeListener(s, onStopSignal);
  };
}

/** Registers `drop` (another thread's dropTemps, asked over its port) for dropAllTemps; returns its removal. */
export function addTempDropper(drop: () => Promise<void>): () => void {
  droppers.add(drop);
  return () => droppers.delete(drop);
}

/** Runs every registered dropper and this thread's dropTemps, waiting at most `deadlineMs` (milliseconds) for them. */
export async function dropAllTemps(deadlineMs: number): Promise<void> {
  const all = Promise.allSettled([...[...droppers].map((d) => d()), dropTemps()]);
  // Not unref'd: the deadline keeps the process alive until the exit that follows.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
  clearTimeout(timer);
}

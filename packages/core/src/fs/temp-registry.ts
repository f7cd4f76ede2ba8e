/**
 * Temp files being written, per thread, so that a graceful stop (SIGINT, SIGTERM) can remove
 * them before the process exits: process.exit() runs no finally blocks, and a temp left beside
 * its destination is found by the next run as a file the source does not have. Every writer
 * tracks its temp from before its open() to after its rename or removal; other threads (the
 * copy workers of -B) register a dropper that asks them to do the same with theirs.
 */
import { unlinkSync } from 'node:fs';

const live = new Set<string>();
let closed = false;
const droppers = new Set<() => Promise<void>>();

/** Records `path` as a temp about to be created; throws once this thread's temps were dropped (the run is stopping). */
export function trackTemp(path: string): void {
  if (closed) throw new Error(`stopping: ${path} not created`);
  live.add(path);
}

/** Forgets `path` (renamed into place or removed). */
export function untrackTemp(path: string): void {
  live.delete(path);
}

/** Whether `path` is still tracked: false after dropTemps removed it (a create that finished later must remove its file). */
export function isTracked(path: string): boolean {
  return live.has(path);
}

/** Removes this thread's tracked temps now (synchronously) and refuses new ones; returns how many were removed. */
export function dropTemps(): number {
  closed = true;
  let n = 0;
  for (const p of live) {
    try {
      unlinkSync(p);
      n++;
    } catch {
      // Already renamed into place or removed: nothing of ours left there.
    }
  }
  live.clear();
  return n;
}

/** Registers `drop` (another thread's dropTemps, asked over its port) for dropAllTemps; returns its removal. */
export function addTempDropper(drop: () => Promise<void>): () => void {
  droppers.add(drop);
  return () => droppers.delete(drop);
}

/** Runs every registered dropper (at most `deadlineMs`), then dropTemps for this thread. */
export async function dropAllTemps(deadlineMs: number): Promise<void> {
  const others = Promise.allSettled([...droppers].map((d) => d()));
  // Not unref'd: the deadline keeps the process alive until the exit that follows.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([others, new Promise((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
  clearTimeout(timer);
  dropTemps();
}

/**
 * Teardown registry for the test rig: every server or temp dir a test file starts registers how to
 * stop it. `after(cleanupAll)` runs them in reverse order; a process 'exit' hook runs the
 * synchronous variants too, so a crashed or interrupted test leaves no server behind.
 */
import { keepTempDirs } from './tmp.js';

type Cleanup = { name: string; run: () => Promise<void> | void; sync?: () => void };
const stack: Cleanup[] = [];
let hooked = false;

/** Registers a teardown; returns a function that runs (and unregisters) it early. */
export function onCleanup(name: string, run: () => Promise<void> | void, sync?: () => void): () => Promise<void> {
  const entry: Cleanup = sync ? { name, run, sync } : { name, run };
  stack.push(entry);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of stack.reverse()) {
        try {
          c.sync?.();
        } catch {
          /* best effort */
        }
      }
    });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        void cleanupAll().finally(() => process.exit(130));
      });
    }
  }
  return async () => {
    const i = stack.indexOf(entry);
    if (i >= 0) {
      stack.splice(i, 1);
      await entry.run();
    }
  };
}

/** Runs every registered teardown, newest first; errors are reported, not thrown. */
export async function cleanupAll(): Promise<void> {
  while (stack.length) {
    const c = stack.pop()!;
    try {
      await c.run();
    } catch (err) {
      console.error(`cleanup ${c.name} failed:`, err);
    }
  }
}

/**
 * Forgets every registered teardown without running it: the servers stay up (demo --keep), and
 * so do the temp dirs they run in (their configs, keys and known_hosts).
 */
export function detachAll(): void {
  stack.length = 0;
  keepTempDirs();
}

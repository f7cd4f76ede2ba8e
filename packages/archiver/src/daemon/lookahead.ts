/**
 * Watches pg_wal/archive_status for `.ready` files: PostgreSQL creates one when a segment (or a
 * .history, .backup, .partial file) is complete and waits to be archived. fs.watch reports
 * promptly but can miss events (and does not exist on every file system), so a periodic scan
 * backs it up.
 */
import { watch, promises as fsp, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { compareWalNames, isWalName } from '@pitrtools/core/wal';
import type { Logger } from '@pitrtools/core/log';

/** A running watcher. */
export interface ReadyWatcher {
  /** Scans now (also done on every change and every `scanMs`). */
  scan(): void;
  stop(): void;
}

/**
 * Calls `onReady` with every WAL name that has a `.ready` file, in WAL order, after each change
 * or scan, and when that directory read started (what was done before it may be forgotten).
 */
export function watchReady(pgdata: string, scanMs: number, log: Logger, onReady: (names: string[], scannedAt: number) => void): ReadyWatcher {
  const dir = join(pgdata, 'pg_wal', 'archive_status');
  let watcher: FSWatcher | undefined;
  let pending = false;
  let stopped = false;
  const scan = (): void => {
    if (pending || stopped) return;
    pending = true;
    // A short delay folds a burst of events into one readdir.
    setTimeout(() => {
      pending = false;
      const scannedAt = Date.now();
      fsp.readdir(dir).then((entries) => {
        if (stopped) return;
        const names = entries.filter((e) => e.endsWith('.ready')).map((e) => e.slice(0, -'.ready'.length)).filter(isWalName);
        onReady(names.sort(compareWalNames), scannedAt);
      }, (err: Error) => log.debug(`cannot read ${dir}: ${err.message}`));
    }, 5).unref();
  };
  try {
    watcher = watch(dir, { persistent: false }, () => scan());
    watcher.on('error', (err) => log.debug(`watching ${dir}: ${err.message}`));
  } catch (err) {
    log.info(`cannot watch ${dir} (${(err as Error).message}); scanning every ${scanMs} ms instead`);
  }
  const timer = setInterval(scan, scanMs);
  timer.unref();
  scan();
  return {
    scan,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}

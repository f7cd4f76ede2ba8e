/**
 * Watches pg_wal/archive_status for `.ready` files: PostgreSQL creates one when a segment (or a
 * .history, .backup, .partial file) is complete and waits to be archived. fs.watch reports
 * promptly, with the name that changed, so each change costs one lstat of that name, whatever
 * archive_status holds (thousands of `.ready` after an outage, thousands of `.done` with a large
 * wal_keep_size). fs.watch can miss events (and does not exist on every file system), so a full
 * read every `scanMs` backs it up; that cost does not grow with the number of segments archived.
 */
import { watch, promises as fsp, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { compareWalNames, isWalName } from '@pitrtools/core/wal';
import type { Logger } from '@pitrtools/core/log';

/** A running watcher. */
export interface ReadyWatcher {
  /** Reads the whole directory now (also done every `scanMs`). */
  scan(): void;
  stop(): void;
}

// Index of `name` in `sorted` (WAL order), or where it would go.
function place(sorted: readonly string[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareWalNames(sorted[mid]!, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Calls `onReady` with every WAL name that has a `.ready` file, in WAL order (and the same names
 * as a set), after each change or full read, and when the last full read started: every name not
 * listed was seen without `.ready` at or after that time (what was done before may be forgotten).
 * The array and the set are the watcher's own: read them, do not keep or change them.
 */
export function watchReady(pgdata: string, scanMs: number, log: Logger,
  onReady: (names: readonly string[], scannedAt: number, ready: ReadonlySet<string>) => void): ReadyWatcher {
  const dir = join(pgdata, 'pg_wal', 'archive_status');
  const ready = new Set<string>();
  let sorted: string[] = [];
  let scannedAt = 0;
  let fullWanted = true;
  const changed = new Set<string>();
  let watcher: FSWatcher | undefined;
  let pending = false;
  let stopped = false;

  const readAll = async (): Promise<void> => {
    const at = Date.now();
    const entries = await fsp.readdir(dir);
    const names = entries.filter((e) => e.endsWith('.ready')).map((e) => e.slice(0, -'.ready'.length)).filter(isWalName);
    sorted = names.sort(compareWalNames);
    ready.clear();
    for (const n of sorted) ready.add(n);
    scannedAt = at;
  };

  // One lstat per changed name: `.ready` there or not.
  const readChanged = async (): Promise<void> => {
    const names = [...changed];
    changed.clear();
    for (const name of names) {
      const there = await fsp.lstat(join(dir, `${name}.ready`)).then(() => true, () => false);
      if (there && !ready.has(name)) {
        ready.add(name);
        sorted.splice(place(sorted, name), 0, name);
      } else if (!there && ready.has(name)) {
        ready.delete(name);
        sorted.splice(place(sorted, name), 1);
      }
    }
  };

  const schedule = (): void => {
    if (pending || stopped) return;
    pending = true;
    // A short delay folds a burst of events into one pass.
    setTimeout(() => {
      const full = fullWanted;
      fullWanted = false;
      if (full) changed.clear();
      let failed = false;
      (full ? readAll() : readChanged()).then(
        () => { if (!stopped) onReady(sorted, scannedAt, ready); },
        (err: Error) => { failed = true; fullWanted = true; log.debug(`cannot read ${dir}: ${err.message}`); },
      ).finally(() => {
        pending = false;
        // What changed meanwhile; after a failure, the next event or scanMs tries again.
        if (!failed && (changed.size > 0 || fullWanted)) schedule();
      });
    }, 5).unref();
  };
  const scan = (): void => {
    fullWanted = true;
    schedule();
  };

  try {
    watcher = watch(dir, { persistent: false }, (_event, filename) => {
      const f = typeof filename === 'string' ? filename : undefined;
      if (f === undefined) return scan();
      const m = /^(.*)\.(ready|done)$/.exec(f);
      if (!m || !isWalName(m[1]!)) return;
      changed.add(m[1]!);
      schedule();
    });
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

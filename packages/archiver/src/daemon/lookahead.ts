/**
 * Watches pg_wal/archive_status for `.ready` files: PostgreSQL creates one when a segment (or a
 * .history, .backup, .partial file) is complete and waits to be archived. fs.watch reports
 * promptly, with the name that changed, so each change costs one lstat of that name, whatever
 * archive_status holds (thousands of `.ready` after an outage, thousands of `.done` with a large
 * wal_keep_size). fs.watch can miss events (and does not exist on every file system), so a full
 * read every `scanMs` backs it up; that cost does not grow with the number of segments archived.
 * Only the oldest `hold` `.ready` names are held (a full read streams the directory through a
 * bounded heap): the look-ahead ships in WAL order, so names beyond those wait for the next read,
 * and memory does not grow with the backlog (issue 17: 5 000 `.ready` files cost 19 MB more
 * RSS than 100 when all were held and shipped ahead).
 */
import { watch, promises as fsp, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { compareWalNames, isWalName } from '@pitrtools/core/wal';
import type { Logger } from '@pitrtools/core/log';

/** `.ready` names held at most: the look-ahead ships at most this far ahead of PostgreSQL's archiver. */
export const LOOKAHEAD_HOLD = 256;

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

/** The oldest `hold` WAL names of `.ready` files in `dir`, in WAL order, and whether there were more. */
export async function oldestReady(dir: string, hold: number): Promise<{ names: string[]; more: boolean }> {
  // A max-heap by WAL order: its top is the newest name held, the first to go for an older one.
  const heap: string[] = [];
  let more = false;
  const swap = (i: number, j: number): void => {
    [heap[i], heap[j]] = [heap[j]!, heap[i]!];
  };
  const newer = (i: number, j: number): boolean => compareWalNames(heap[i]!, heap[j]!) > 0;
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < heap.length && newer(l, m)) m = l;
      if (l + 1 < heap.length && newer(l + 1, m)) m = l + 1;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for await (const e of await fsp.opendir(dir)) {
    if (!e.name.endsWith('.ready')) continue;
    const name = e.name.slice(0, -'.ready'.length);
    if (!isWalName(name)) continue;
    if (heap.length < hold) {
      heap.push(name);
      for (let i = heap.length - 1; i > 0 && newer(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
    } else {
      more = true;
      if (hold > 0 && compareWalNames(name, heap[0]!) < 0) {
        heap[0] = name;
        down(0);
      }
    }
  }
  return { names: heap.sort(compareWalNames), more };
}

/**
 * Calls `onReady` with the oldest `hold` WAL names that have a `.ready` file, in WAL order (and
 * the same names as a set), after each change or full read, and when the last full read started:
 * every name not listed and not after `horizon` was seen without `.ready` at or after that time
 * (what was done before may be forgotten). `horizon` is the newest name held when there are more
 * `.ready` names than `hold` (undefined: the list is complete). The array and the set are the
 * watcher's own: read them, do not keep or change them.
 */
export function watchReady(
  pgdata: string,
  scanMs: number,
  log: Logger,
  onReady: (names: readonly string[], scannedAt: number, ready: ReadonlySet<string>, horizon: string | undefined) => void,
  hold: number = LOOKAHEAD_HOLD,
): ReadyWatcher {
  const dir = join(pgdata, 'pg_wal', 'archive_status');
  const ready = new Set<string>();
  let sorted: string[] = [];
  // The newest name held when archive_status has more .ready names than `hold`.
  let horizon: string | undefined;
  let scannedAt = 0;
  let fullWanted = true;
  const changed = new Set<string>();
  let watcher: FSWatcher | undefined;
  let pending = false;
  let stopped = false;

  const readAll = async (): Promise<void> => {
    const at = Date.now();
    const { names, more } = await oldestReady(dir, hold);
    sorted = names;
    horizon = more ? sorted.at(-1) : undefined;
    ready.clear();
    for (const n of sorted) ready.add(n);
    scannedAt = at;
  };

  // One lstat per changed name: `.ready` there or not.
  const readChanged = async (): Promise<void> => {
    const names = [...changed];
    changed.clear();
    for (const name of names) {
      const there = await fsp.lstat(join(dir, `${name}.ready`)).then(
        () => true,
        () => false,
      );
      if (there && !ready.has(name)) {
        // Beyond what is held: the read that refills the window finds it in its turn.
        if (horizon !== undefined && compareWalNames(name, horizon) > 0) continue;
        ready.add(name);
        sorted.splice(place(sorted, name), 0, name);
        if (sorted.length > hold) {
          ready.delete(sorted.pop()!);
          horizon = sorted.at(-1);
        }
      } else if (!there && ready.has(name)) {
        ready.delete(name);
        sorted.splice(place(sorted, name), 1);
      }
    }
    // Half the window archived: read again for the names after it.
    if (horizon !== undefined && sorted.length <= hold / 2) fullWanted = true;
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
      (full ? readAll() : readChanged())
        .then(
          () => {
            if (!stopped) onReady(sorted, scannedAt, ready, horizon);
          },
          (err: Error) => {
            failed = true;
            fullWanted = true;
            log.debug(`cannot read ${dir}: ${err.message}`);
          },
        )
        .finally(() => {
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

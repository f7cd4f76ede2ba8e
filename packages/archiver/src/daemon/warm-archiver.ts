/**
 * The daemon's answer to "archive this segment": each segment is shipped once to every slave
 * (ahead of time when the look-ahead saw its .ready file, else on request), the outcome is kept
 * with what identifies the file (inode, size, mtime), and a request for the same file gets the
 * kept outcome at once. Only safe outcomes are kept: a conflict or failure is worked out again
 * on PostgreSQL's next retry.
 */
import { promises as fsp } from 'node:fs';
import { errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { noteState } from '../archive/claims.js';
import { deliverSegment } from '../archive/deliver.js';
import { describeOutcome, exitCodeFor, isSafe, type SlaveOutcome } from '../archive/outcome.js';
import type { AlertFn, QueueStore } from '../archive/ports.js';
import { resolveSegment, type ResolvedSegment } from '../archive/segment-input.js';
import type { Reply } from '../warm/protocol.js';
import type { SlaveWorker } from './slave-worker.js';

/** What the warm archiver works with. */
export interface WarmDeps {
  pgdata: string;
  configFile: string;
  offline: boolean;
  workers: SlaveWorker[];
  store: QueueStore;
  alert: AlertFn;
  log: Logger;
  /** Segments shipped ahead at most at once. */
  maxAhead: number;
}

interface Entry {
  seg: ResolvedSegment;
  outcomes: Promise<Map<string, SlaveOutcome>>;
  settled: boolean;
}

const sameFile = (a: ResolvedSegment, b: ResolvedSegment): boolean =>
  a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.path === b.path;

/** Ships segments for requests and for the look-ahead, sharing the work between them. */
export class WarmArchiver {
  private readonly entries = new Map<string, Entry>();
  /** Requests that found their segment already shipped or on its way (for the log and tests). */
  hits = 0;

  constructor(private readonly d: WarmDeps) {}

  private start(seg: ResolvedSegment): Entry {
    const entry: Entry = {
      seg, settled: false,
      outcomes: (async () => {
        const out = new Map<string, SlaveOutcome>();
        await Promise.all(this.d.workers.map(async (w) => {
          const o = await deliverSegment(w.ctx, seg);
          out.set(w.target.name, o);
          if (o.kind === 'queued') void w.drain().catch(() => undefined);
        }));
        return out;
      })().finally(() => { entry.settled = true; }),
    };
    this.entries.set(seg.name, entry);
    return entry;
  }

  /** The look-ahead: ships the oldest .ready segments not yet in hand; forgets those PostgreSQL has archived. */
  onReady(names: readonly string[]): void {
    const ready = new Set(names);
    for (const [name, e] of this.entries) if (e.settled && !ready.has(name)) this.entries.delete(name);
    if (this.d.offline) return;
    let busy = [...this.entries.values()].filter((e) => !e.settled).length;
    for (const name of names) {
      if (busy >= this.d.maxAhead) break;
      if (this.entries.has(name)) continue;
      busy++;
      // A placeholder keeps the next scan from starting the same name while it is being checked.
      const placeholder: Entry = { seg: { name, path: '', size: 0, ino: 0, mtimeMs: 0 }, outcomes: Promise.resolve(new Map()), settled: false };
      this.entries.set(name, placeholder);
      resolveSegment(`pg_wal/${name}`, this.d.pgdata, fsp).then(
        (seg) => { if (this.entries.get(name) === placeholder) this.start(seg); },
        (err: unknown) => {
          this.d.log.debug(`look-ahead: ${name}: ${errorMessage(err)}`);
          if (this.entries.get(name) === placeholder) this.entries.delete(name);
        },
      );
    }
  }

  /** Handles one request from cmd_archiver. */
  async archive(file: string): Promise<Reply> {
    let seg: ResolvedSegment;
    try {
      seg = await resolveSegment(file, this.d.pgdata, fsp);
    } catch (err) {
      return { status: 'fallback', message: errorMessage(err) };
    }
    if (!await noteState(this.d, this.d.offline, this.d.configFile)) {
      return { status: 'offline', message: `not archiving ${seg.name}: state is offline in ${this.d.configFile}` };
    }
    const t0 = Date.now();
    let entry = this.entries.get(seg.name);
    const ahead = entry !== undefined && entry.seg.path !== '' && sameFile(entry.seg, seg);
    if (ahead) this.hits++;
    else entry = this.start(seg);
    const outcomes = await entry!.outcomes;
    const all = [...outcomes.values()];
    if (!all.every(isSafe)) this.entries.delete(seg.name);
    const code = exitCodeFor(all);
    const bad = [...outcomes].filter(([, o]) => !isSafe(o)).map(([n, o]) => describeOutcome(n, o)).join('; ');
    for (const [n, o] of outcomes) if (o.kind === 'queued') this.d.log.info(`${seg.name}: ${describeOutcome(n, o)}`);
    this.d.log.debug(`served ${seg.name}: exit ${code} (${ahead ? 'shipped ahead' : 'on request'}, answered in ${Date.now() - t0} ms)`);
    if (code === 0) return { status: 'ok' };
    if (code === 4) return { status: 'conflict', message: `${seg.name} is NOT archived: ${bad}` };
    return { status: 'fallback', message: `${seg.name}: ${bad}` };
  }
}

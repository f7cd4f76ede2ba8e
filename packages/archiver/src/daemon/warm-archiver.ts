/**
 * The daemon's answer to "archive this segment": each segment is shipped once to every slave
 * (ahead of time when the look-ahead saw its .ready file, else on request), the outcome is kept
 * with what identifies the file (device, inode, size, mtime, ctime), and a request for the same
 * file gets the kept outcome at once. Only safe outcomes are kept: a conflict or failure is
 * worked out again on PostgreSQL's next retry. An outcome that is safe on every slave also
 * becomes a proof marker, which the sh front end answers from without asking.
 */
import { promises as fsp } from 'node:fs';
import { errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { compareWalNames } from '@pitrtools/core/wal';
import { noteState } from '../archive/claims.js';
import { deliverWithin } from '../archive/slave-deadline.js';
import { describeOutcome, isSafe, type SlaveOutcome } from '../archive/outcome.js';
import { offlineVerdict, verdictError, verdictFor } from '../archive/verdict.js';
import type { AlertFn, QueueStore } from '../archive/ports.js';
import { resolveSegment, type ResolvedSegment } from '../archive/segment-input.js';
import type { Reply } from '../warm/protocol.js';
import { fileIdentity } from './file-identity.js';
import type { ProofMarkers } from './proof-markers.js';
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
  /** Where outcomes safe on every slave are recorded for the sh front end (none: not recorded). */
  markers?: ProofMarkers;
  /**
   * Checked before the look-ahead ships anything: false once the ini changed (it may say
   * `state: offline` now, which pauses shipping at once, not when the daemon next looks).
   */
  mayShipAhead?: () => Promise<boolean>;
}

interface Entry {
  seg: ResolvedSegment;
  /** file-identity.ts line of the file as shipped ('' for a placeholder). */
  identity: string;
  outcomes: Promise<Map<string, SlaveOutcome>>;
  settled: boolean;
  /** When it settled (ms), to forget it only after a scan that started later. */
  settledAt: number;
}

/** What a proof marker may stand for: on every slave the file is durable there or in its queue. */
export function provesArchived(outcomes: Iterable<SlaveOutcome>): boolean {
  for (const o of outcomes) {
    if (o.kind === 'delivered' || o.kind === 'queued' || (o.kind === 'detached' && o.delivered)) continue;
    return false;
  }
  return true;
}

/** The validated segment and its identity line, or why it cannot be handled here. */
async function identify(file: string, pgdata: string): Promise<{ seg: ResolvedSegment; identity: string }> {
  const seg = await resolveSegment(file, pgdata, fsp);
  const id = await fileIdentity(seg.path);
  if (!id?.regular) throw new Error(`cannot identify ${seg.path}`);
  return { seg, identity: id.line };
}

/** Ships segments for requests and for the look-ahead, sharing the work between them. */
export class WarmArchiver {
  private readonly entries = new Map<string, Entry>();
  /** Entries not settled yet (a count, not a scan of the map: it holds every .ready name shipped). */
  private busy = 0;
  /** The last scan's .ready names in WAL order: the look-ahead picks from it again when a shipment settles. */
  private ready: readonly string[] = [];
  /** Requests that found their segment already shipped or on its way (for the log and tests). */
  hits = 0;

  constructor(private readonly d: WarmDeps) {}

  private start(seg: ResolvedSegment, identity: string): Entry {
    const entry: Entry = {
      seg,
      identity,
      settled: false,
      settledAt: 0,
      outcomes: (async () => {
        const out = new Map<string, SlaveOutcome>();
        await Promise.all(
          this.d.workers.map(async (w) => {
            // Bounded by slave_deadline: past it the segment is queued and the upload goes on here.
            const o = await deliverWithin(w.ctx, seg, { deadlineMs: w.target.deadlineMs });
            out.set(w.target.name, o);
            // A new segment is the moment to retry a slave that was down, not queue_wait later.
            if (o.kind === 'queued') w.nudge();
          }),
        );
        const m = this.d.markers;
        if (m) {
          if (!provesArchived(out.values())) await m.ask(seg.name);
          else if (await m.prove(seg.name, seg.path, identity)) this.d.log.debug(`${seg.name}: proof marker written`);
        }
        return out;
      })().finally(() => {
        entry.settled = true;
        entry.settledAt = Date.now();
        this.busy--;
        // The next .ready segment goes out now, not at the next scan (up to a second later).
        this.pick();
      }),
    };
    this.busy++;
    this.entries.set(seg.name, entry);
    return entry;
  }

  /**
   * The look-ahead: ships the oldest .ready segments not yet in hand; forgets those PostgreSQL
   * has archived (settled before the scan that no longer lists them started). `horizon`: the
   * newest name listed when the list holds only the oldest .ready names (lookahead.ts); what
   * comes after it is not known to be archived, so it is kept.
   */
  onReady(names: readonly string[], scannedAt: number = Date.now(), readySet?: ReadonlySet<string>, horizon?: string): void {
    // The watcher hands its own set: building one per change would cost O(.ready files) per segment.
    const ready = readySet ?? new Set(names);
    const archived = (name: string): boolean => !ready.has(name) && (horizon === undefined || compareWalNames(name, horizon) <= 0);
    for (const [name, e] of this.entries) if (e.settled && e.settledAt < scannedAt && archived(name)) this.entries.delete(name);
    void this.d.markers?.forget(archived, scannedAt);
    this.ready = names;
    this.pick();
  }

  /** Starts the oldest .ready segments of the last scan not yet in hand, up to maxAhead at once. */
  private pick(): void {
    if (this.d.offline) return;
    let busy = this.busy;
    const picked: Array<[string, Entry]> = [];
    for (const name of this.ready) {
      if (busy >= this.d.maxAhead) break;
      if (this.entries.has(name)) continue;
      busy++;
      // A placeholder keeps the next scan from starting the same name while it is being checked.
      const placeholder: Entry = {
        seg: { name, path: '', size: 0, ino: 0, mtimeMs: 0 },
        identity: '',
        outcomes: Promise.resolve(new Map<string, SlaveOutcome>()),
        settled: false,
        settledAt: 0,
      };
      this.entries.set(name, placeholder);
      picked.push([name, placeholder]);
    }
    this.busy += picked.length;
    // One after the other, so the uploads start in WAL order: PostgreSQL asks in that order.
    void (async () => {
      for (const [name, placeholder] of picked) {
        try {
          if (!(await (this.d.mayShipAhead ?? (() => Promise.resolve(true)))())) throw new Error('the ini changed; not shipping ahead');
          const { seg, identity } = await identify(`pg_wal/${name}`, this.d.pgdata);
          this.busy--; // the placeholder's count passes to the entry start() makes
          if (this.entries.get(name) === placeholder) this.start(seg, identity);
        } catch (err) {
          this.busy--;
          this.d.log.debug(`look-ahead: ${name}: ${errorMessage(err)}`);
          if (this.entries.get(name) === placeholder) this.entries.delete(name);
        }
      }
    })();
  }

  /** Handles one request from cmd_archiver. */
  async archive(file: string): Promise<Reply> {
    let seg: ResolvedSegment;
    let identity: string;
    try {
      ({ seg, identity } = await identify(file, this.d.pgdata));
    } catch (err) {
      return { status: 'fallback', message: errorMessage(err) };
    }
    if (!(await noteState(this.d, this.d.offline, this.d.configFile))) {
      return { status: 'verdict', verdict: offlineVerdict(seg.name, this.d.configFile) };
    }
    const t0 = Date.now();
    let entry = this.entries.get(seg.name);
    const ahead = entry !== undefined && entry.identity !== '' && entry.identity === identity && entry.seg.path === seg.path;
    if (ahead) this.hits++;
    else entry = this.start(seg, identity);
    const outcomes = await entry!.outcomes;
    const all = [...outcomes.values()];
    if (!all.every(isSafe)) this.entries.delete(seg.name);
    const verdict = verdictFor(seg.name, outcomes);
    for (const [n, o] of outcomes) if (o.kind === 'queued') this.d.log.info(`${seg.name}: ${describeOutcome(n, o)}`);
    const exit = verdict.kind === 'archived' ? 0 : verdictError(verdict).exitCode;
    this.d.log.debug(`served ${seg.name}: exit ${exit} (${ahead ? 'shipped ahead' : 'on request'}, answered in ${Date.now() - t0} ms)`);
    if (verdict.kind === 'archived') return { status: 'ok' };
    // A failure is not final here: the client does the job itself, and queues what cannot go now.
    if (verdict.kind === 'failed') return { status: 'fallback', message: `${seg.name}: ${verdict.detail}` };
    return { status: 'verdict', verdict };
  }
}

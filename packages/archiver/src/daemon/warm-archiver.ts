/**
 * cmd_queue's shipping ahead: each segment PostgreSQL marks .ready is shipped once to every slave
 * as soon as the look-ahead sees it, with what identifies the file (device, inode, size, mtime,
 * ctime) taken before. An outcome that is safe on every slave becomes a proof marker, from which
 * cmd_archiver -F (the sh front end, or warm/await-proof.ts) answers "archived" without shipping;
 * any other outcome leaves `NAME.ask`, and cmd_archiver then does the job itself (its answer is
 * the one the user sees: one path for conflicts, failures and offline). A segment not proved is
 * shipped again only by that run: the look-ahead does not retry it while PostgreSQL still lists it.
 */
import { promises as fsp } from 'node:fs';
import { errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { compareWalNames } from '@pitrtools/core/wal';
import { deliverWithin } from '../archive/slave-deadline.js';
import type { SlaveOutcome } from '../archive/outcome.js';
import { resolveSegment, type ResolvedSegment } from '../archive/segment-input.js';
import { fileIdentity } from './file-identity.js';
import type { ProofMarkers } from './proof-markers.js';
import type { SlaveWorker } from './slave-worker.js';

/** What the warm archiver works with. */
export interface WarmDeps {
  pgdata: string;
  offline: boolean;
  workers: SlaveWorker[];
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

/** Ships the .ready segments the look-ahead reports, up to maxAhead at once, in WAL order. */
export class WarmArchiver {
  private readonly entries = new Map<string, Entry>();
  /** Entries not settled yet (a count, not a scan of the map: it holds every .ready name shipped). */
  private busy = 0;
  /** The last scan's .ready names in WAL order: the look-ahead picks from it again when a shipment settles. */
  private ready: readonly string[] = [];

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
}

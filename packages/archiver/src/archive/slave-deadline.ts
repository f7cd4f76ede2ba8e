/**
 * slave_deadline: one run never waits longer than that for one slave. SSH keepalives keep a
 * slow-but-alive connection open, so ssh_timeout alone never fires on a 2 Mbit/s link; this bounds
 * the whole of a run's work on the slave (connect, queue drain, upload). Past it the segment is
 * queued (durably, as for an unreachable slave) and cmd_queue ships it in the background.
 */
import { errorMessage } from '@pitrtools/core/errors';
import { deliverSegment, queueSegment, SLOW_CLAIM } from './deliver.js';
import { muteable } from './mute.js';
import type { SlaveOutcome } from './outcome.js';
import type { Segment, SlaveContext } from './ports.js';

/** How the work left behind at the deadline is treated. */
export interface DeadlineOptions {
  /** slave_deadline in ms. */
  deadlineMs: number;
  /**
   * Called at the deadline by a run that is about to exit (cmd_archiver -F): cut the connection.
   * The work left behind is muted first, so its errors raise no alert and write nothing. Without
   * it (cmd_queue), the upload in flight goes on; if it completes, the queued copy is removed.
   */
  abandon?: () => void;
}

/** deliverSegment bounded by slave_deadline: its outcome, or past the deadline 'queued' (or what queueing gave); never throws. */
export async function deliverWithin(ctx: SlaveContext, seg: Segment, o: DeadlineOptions): Promise<SlaveOutcome> {
  const m = o.abandon ? muteable(ctx) : undefined;
  const work = deliverSegment(m?.ctx ?? ctx, seg);
  const late = Symbol('late');
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    work,
    new Promise<typeof late>((r) => {
      timer = setTimeout(() => r(late), o.deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  if (first !== late) return first;
  if (m) {
    m.mute();
    o.abandon!();
  }
  const secs = Math.round(o.deadlineMs / 100) / 10;
  const reason = `slave ${ctx.slave.name} too slow: ${seg.name} not delivered within slave_deadline (${secs} s); cmd_queue ships it in the background`;
  ctx.log.warning(reason);
  const queued = await queueSegment(ctx, seg, reason);
  if (queued.kind !== 'queued') return queued;
  // The next runs queue behind at once instead of sending the same queued segments as cmd_queue.
  await ctx.store.claim(ctx.slave.name, SLOW_CLAIM, `${JSON.stringify({ since: ctx.now(), segment: seg.name })}\n`).catch(() => false);
  if (!m) {
    void work
      .then(async (w) => {
        // Delivered after all: the queued copy is not needed (drainQueue tolerates it going).
        if (w.kind === 'delivered') await ctx.store.remove(ctx.slave.name, seg.name);
      })
      .catch((err: unknown) => ctx.log.debug(`${seg.name} for ${ctx.slave.name}: ${errorMessage(err)}`));
  }
  return queued;
}

/**
 * Shipping one segment to one slave, keeping the promise: on return the segment is fsynced on
 * the slave or in its queue, or the outcome says it is not. Older queued segments go first (WAL
 * order), within queue_drain_budget; when they cannot all go, the new one joins the queue
 * behind them. Used by cmd_archiver (one run per segment) and by cmd_queue (the warm path).
 */
import { errorCode, errorMessage, PitrError } from '@pitrtools/core/errors';
import { humanBytes } from '@pitrtools/core/bytes';
import { CAUSE_CLAIMS, clearConflict, DETACHED_MARKER, noteConflict, noteOutage, noteQueued, noteQueueSize, noteRecovered, totalsOf, Claim } from './claims.js';
import type { SlaveOutcome } from './outcome.js';
import { remoteCause, type RemoteCause } from './remote-cause.js';
import type { PlaceStatus, QueuedFile, QueueLook, QueueScan, QueueTotals, Segment, SlaveContext, SlaveLink } from './ports.js';

/** True for a failure of the slave or the way to it (SSH/SFTP, or the WAL stream of compress), as opposed to a local one. */
export function isRemoteError(err: unknown): boolean {
  return err instanceof PitrError && (/^(SSH|SFTP|WIRE)_/.test(err.code) || err.code === 'COMPRESS_CORRUPT');
}

/** The reason to show for a failed connection or transfer: message plus the hint (e.g. how to trust a host key). */
export function remoteReason(err: unknown): string {
  const hint = err instanceof PitrError && err.hint ? ` (${err.hint})` : '';
  return `${errorMessage(err)}${hint}`;
}

/**
 * Claim in a slave's queue directory while a run found it too slow (slave_deadline): runs then
 * queue behind at once rather than send the same queued segments as cmd_queue over the slow
 * link; taken away when a drain empties the queue.
 */
export const SLOW_CLAIM = '.slow';

const EMPTY: QueueScan = { files: [], detached: undefined, claims: new Set() };

/** Reads the slave's queue; a queue that cannot be read counts as empty (queueing will then fail loudly). */
export async function scanQueue(ctx: SlaveContext): Promise<QueueScan> {
  return ctx.store.scan(ctx.slave.name).catch((err: unknown) => {
    ctx.log.warning(`cannot read the queue of ${ctx.slave.name} in ${ctx.store.root}: ${errorMessage(err)}`);
    return EMPTY;
  });
}

/** Count and bytes of the slave's queue and the claims a new segment needs, without listing the queue; unreadable counts as empty, as in scanQueue. */
export async function lookQueue(ctx: SlaveContext, segment: string): Promise<QueueLook> {
  return ctx.store
    .look(ctx.slave.name, [Claim.OUTAGE, Claim.OVER_WARN, Claim.OVER_CRITICAL, SLOW_CLAIM, Claim.conflict(segment), ...CAUSE_CLAIMS])
    .catch((err: unknown) => {
      ctx.log.warning(`cannot read the queue of ${ctx.slave.name} in ${ctx.store.root}: ${errorMessage(err)}`);
      return { count: 0, bytes: 0, detached: undefined, claims: new Set<string>() };
    });
}

/** Result of delivering queued segments. */
export interface DrainResult {
  delivered: number;
  /** Still queued, in WAL order. */
  remaining: QueuedFile[];
  /** Why it stopped early: the slave is unreachable, a conflict blocks the queue, or the budget ran out. */
  stopped?: { why: 'unreachable' | 'conflict' | 'budget' | 'local'; reason: string };
}

/**
 * Delivers queued segments in WAL order until the queue is empty, the slave fails, or `deadline`
 * (ms) passes. With a link that pipelines (compress: link.ahead > 1) up to that many uploads are
 * in flight, their results taken in WAL order: a file is removed from the queue only once its
 * own upload answered, and a failure stops at that file (later ones that did arrive are sent
 * again next time and answered "same").
 */
export async function drainQueue(ctx: SlaveContext, scan: QueueScan, deadline: number): Promise<DrainResult> {
  const files = scan.files;
  let delivered = 0;
  let link: SlaveLink | undefined;
  const started = new Map<number, Promise<PlaceStatus>>();
  const start = (j: number): Promise<PlaceStatus> => {
    const f = files[j]!;
    const p = link!.upload(ctx.store.path(ctx.slave.name, f.name), f.name);
    p.catch(() => undefined); // taken in order below, or abandoned after an earlier failure
    started.set(j, p);
    return p;
  };
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const rest = (why: NonNullable<DrainResult['stopped']>['why'], reason: string): DrainResult => ({
      delivered,
      remaining: files.slice(i),
      stopped: { why, reason },
    });
    if (!started.has(i) && ctx.now() >= deadline) return rest('budget', `${files.length - i} older segments still wait (queue_drain_budget)`);
    let status;
    try {
      link ??= await ctx.link.get();
      const mine = started.get(i) ?? start(i);
      started.delete(i);
      // Keep the pipeline full: start what comes after, within the budget's time.
      for (let j = i + 1; j < Math.min(files.length, i + (link.ahead ?? 1)); j++) if (!started.has(j) && ctx.now() < deadline) void start(j);
      status = await mine;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') continue; // delivered and removed by another process meanwhile
      if (isRemoteError(err)) {
        await noteOutage(ctx, remoteCause(err, remoteReason(err)), totalsOf(files.slice(i)), undefined, scan.claims);
        return rest('unreachable', remoteReason(err));
      }
      return rest('local', `cannot read queued ${f.name}: ${errorMessage(err)}`);
    }
    if (status === 'conflict') {
      await noteConflict(ctx, f.name, 'slave');
      return rest('conflict', `a different ${f.name} is on the slave`);
    }
    await ctx.store.remove(ctx.slave.name, f.name);
    await clearConflict(ctx, f.name, scan.claims);
    delivered++;
  }
  await ctx.store.release(ctx.slave.name, SLOW_CLAIM).catch(() => undefined);
  await noteRecovered(ctx);
  return { delivered, remaining: [] };
}

/** Ships `seg` to the slave, or queues it; never throws for a slave or queue problem. */
export async function deliverSegment(ctx: SlaveContext, seg: Segment): Promise<SlaveOutcome> {
  // Constant work whatever the queue holds: the queue is listed only to drain it, once the slave answers.
  const look = await lookQueue(ctx, seg.name);
  if (look.detached !== undefined) return bestEffort(ctx, seg);
  let claims = look.claims;
  if (look.count > 0 && claims.has(SLOW_CLAIM)) {
    return enqueue(ctx, seg, look, claims, `slave ${ctx.slave.name} is slow (slave_deadline); cmd_queue ships its queue`, undefined);
  }
  if (look.count > 0) {
    const down = await ctx.link.get().then(
      () => undefined,
      (err: unknown) => (isRemoteError(err) ? remoteCause(err, remoteReason(err)) : undefined),
    );
    if (down !== undefined) return enqueue(ctx, seg, look, claims, down.reason, down);
    // No time to drain (cmd_queue's warm path): behind the queue at once, without listing it.
    if (ctx.limits.drainBudgetMs <= 0) return enqueue(ctx, seg, look, claims, `${look.count} older segments still wait (queue_drain_budget)`, undefined);
    const scan = await scanQueue(ctx);
    const drained = await drainQueue(ctx, scan, ctx.now() + ctx.limits.drainBudgetMs);
    if (drained.remaining.length > 0) {
      // An unreachable slave was noted by the drain already.
      return enqueue(ctx, seg, totalsOf(drained.remaining), scan.claims, drained.stopped!.reason, undefined);
    }
    claims = new Set([...claims, ...scan.claims]);
  }
  try {
    const link = await ctx.link.get();
    const status = await link.upload(seg.path, seg.name);
    if (status === 'conflict') {
      await noteConflict(ctx, seg.name, 'slave');
      return { kind: 'conflict', where: 'slave' };
    }
    await clearConflict(ctx, seg.name, claims);
    if (claims.has(Claim.OUTAGE)) await noteRecovered(ctx);
    return { kind: 'delivered', status };
  } catch (err) {
    if (!isRemoteError(err)) return { kind: 'failed', reason: `cannot read ${seg.path}: ${errorMessage(err)}` };
    return enqueue(ctx, seg, { count: 0, bytes: 0 }, claims, remoteReason(err), remoteCause(err, remoteReason(err)));
  }
}

/** Queues `seg` behind what the slave's queue holds now (e.g. past slave_deadline); never throws. */
export async function queueSegment(ctx: SlaveContext, seg: Segment, reason: string): Promise<SlaveOutcome> {
  const look = await lookQueue(ctx, seg.name);
  if (look.detached !== undefined) return { kind: 'detached', delivered: false };
  return enqueue(ctx, seg, look, look.claims, reason, undefined);
}

/** Queues `seg` behind `queued`, minding queue_max_bytes and the size alerts; `cause` set when the slave failed just now (noted as an outage). */
async function enqueue(
  ctx: SlaveContext,
  seg: Segment,
  queued: QueueTotals,
  claims: ReadonlySet<string>,
  reason: string,
  cause: RemoteCause | undefined,
): Promise<SlaveOutcome> {
  const bytes = queued.bytes;
  const max = ctx.limits.maxBytes;
  if (max !== null && bytes + seg.size > max) return drop(ctx, seg, bytes, reason);
  let status;
  try {
    status = await ctx.store.enqueue(ctx.slave.name, seg.path, seg.name);
  } catch (err) {
    const why = `cannot queue ${seg.name} for ${ctx.slave.name} (${reason}): ${errorMessage(err)}`;
    ctx.log.error(why);
    return { kind: 'failed', reason: why };
  }
  if (status === 'conflict') {
    await noteConflict(ctx, seg.name, 'queue');
    return { kind: 'conflict', where: 'queue' };
  }
  // 'identical': this very segment was queued already (PostgreSQL re-sent it).
  const already = status === 'identical';
  const after = already ? { count: Math.max(queued.count, 1), bytes: Math.max(bytes, seg.size) } : { count: queued.count + 1, bytes: bytes + seg.size };
  if (cause !== undefined) await noteOutage(ctx, cause, after, seg.name, claims);
  await noteQueued(ctx, seg.name);
  await noteQueueSize(ctx, after.bytes, after.count, claims);
  return { kind: 'queued', reason };
}

/** Past queue_max_bytes: marker first (so a crash never leaves a silently short queue), then delete, then alert. */
async function drop(ctx: SlaveContext, seg: Segment, bytes: number, reason: string): Promise<SlaveOutcome> {
  const s = ctx.slave;
  const max = humanBytes(ctx.limits.maxBytes);
  const when = new Date(ctx.now()).toISOString();
  const why =
    `${when}: queueing ${seg.name} would pass queue_max_bytes (${max}): ${humanBytes(bytes)} already queued; ` + `slave not delivered to: ${reason}\n`;
  let dropped;
  try {
    dropped = await ctx.store.drop(s.name, why);
  } catch (err) {
    return { kind: 'failed', reason: `cannot drop the queue of ${s.name}: ${errorMessage(err)}` };
  }
  for (const c of [Claim.OUTAGE, Claim.OVER_WARN, Claim.OVER_CRITICAL, SLOW_CLAIM]) await ctx.store.release(s.name, c).catch(() => undefined);
  const deleted = dropped.deleted;
  // Another process that got there first (cmd_queue and cmd_archiver at once) sent the alert.
  if (dropped.created) {
    ctx.alert({
      level: 'CRITICAL',
      event: 'slave_dropped',
      slave: s.name,
      segment: seg.name,
      message:
        `slave ${s.name} dropped: its queue would pass queue_max_bytes (${max}); ${deleted} queued segments deleted ` +
        `and ${ctx.store.root}/${s.name}/${DETACHED_MARKER} written. It needs a new base backup: ` +
        `run cmd_archiver -C ${ctx.limits.configFile} --reset-slave ${s.name}, then cmd_standby -B on the slave`,
    });
  }
  return { kind: 'dropped' };
}

/** A detached slave still gets what can be sent, but it never holds PostgreSQL up or queues anything. */
async function bestEffort(ctx: SlaveContext, seg: Segment): Promise<SlaveOutcome> {
  try {
    const status = await (await ctx.link.get()).upload(seg.path, seg.name);
    return { kind: 'detached', delivered: status !== 'conflict' };
  } catch (err) {
    ctx.log.debug(`detached slave ${ctx.slave.name}: ${seg.name} not delivered: ${errorMessage(err)}`);
    return { kind: 'detached', delivered: false };
  }
}

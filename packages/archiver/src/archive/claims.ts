/**
 * Alerts that fire once per episode, not once per segment. PostgreSQL retries a failing segment
 * every minute, forever, and several processes (cmd_archiver runs, cmd_queue) act at once; so
 * each episode is claimed by creating a file atomically (only one creator wins) and ended by
 * taking that file away atomically (only one taker wins and sends the all-clear).
 */
import { humanBytes } from '@pitrtools/core/bytes';
import type { AlertFn, QueuedFile, QueueTotals, SlaveContext } from './ports.js';
import { CAUSE_EVENTS, CAUSE_KEYS, type RemoteCause } from './remote-cause.js';

/** Claim names inside a slave's queue directory (and `.offline` in l_archivedir). */
export const Claim = {
  OUTAGE: '.outage',
  OVER_WARN: '.over-warn',
  OVER_CRITICAL: '.over-critical',
  OFFLINE: '.offline',
  /** Prefix of the claim that names the current cause of an outage (`.cause-disk_full`). */
  CAUSE: '.cause-',
  conflict: (name: string): string => `.conflict.${name}`,
} as const;

/** The marker of a slave whose queue was dropped. */
export const DETACHED_MARKER = 'NEEDS_BASE_BACKUP';

type StoreAndLog = Pick<SlaveContext, 'store' | 'log'>;

// A claim that cannot even be written (l_archivedir gone) must not swallow the alert.
async function claimed(ctx: StoreAndLog, scope: string, claim: string, content: string): Promise<boolean> {
  try {
    return await ctx.store.claim(scope, claim, content);
  } catch (err) {
    ctx.log.debug(`cannot record alert ${claim} in ${ctx.store.root}/${scope}: ${String(err)}`);
    return true;
  }
}

async function released(ctx: StoreAndLog, scope: string, claim: string): Promise<string | undefined> {
  try {
    return await ctx.store.release(scope, claim);
  } catch (err) {
    ctx.log.debug(`cannot clear ${claim} in ${ctx.store.root}/${scope}: ${String(err)}`);
    return undefined;
  }
}

/** Count and bytes of a list of queued files. */
export const totalsOf = (files: readonly QueuedFile[]): QueueTotals => ({ count: files.length, bytes: files.reduce((n, f) => n + f.size, 0) });

/** The claim that records the current cause of an outage (one at a time; see noteOutage). */
const causeClaim = (key: string): string => `${Claim.CAUSE}${key}`;

/** Every possible cause claim: asked for by name (QueueStore.look), so no run lists the queue for them. */
export const CAUSE_CLAIMS: readonly string[] = CAUSE_KEYS.map(causeClaim);

function outageText(ctx: SlaveContext, c: RemoteCause, where: string): string {
  const s = ctx.slave;
  return c.kind === 'write'
    ? `slave ${s.name} (${s.endpoint}) cannot store segments in ${s.r_archivedir} (${c.what}): ${c.reason}; its segments wait in ${where} until that is fixed`
    : `slave ${s.name} (${s.endpoint}) ${c.what}: ${c.reason}; its segments wait in ${where} until it is back`;
}

/**
 * The slave did not take a segment (cannot connect, login or host key refused, write failed):
 * alert at the start of the outage, again every queue_alert_repeat while it lasts, and at once
 * when its cause changes (e.g. from unreachable to disk full); each kind has its own events.
 * `queued`: what the queue holds with this segment; `seen`: the claims this run already looked at
 * (they must include CAUSE_CLAIMS), else they are looked up by name, never by listing the queue.
 */
export async function noteOutage(ctx: SlaveContext, cause: RemoteCause, queued: QueueTotals, segment?: string, seen?: ReadonlySet<string>): Promise<void> {
  const s = ctx.slave;
  const now = ctx.now();
  const where = `${ctx.store.root}/${s.name}`;
  const seg = segment !== undefined ? { segment } : {};
  const events = CAUSE_EVENTS[cause.kind];
  if (await claimed(ctx, s.name, Claim.OUTAGE, `${JSON.stringify({ since: now, reason: cause.reason, cause: cause.key })}\n`)) {
    // Claims left by an episode that ended without recovery (a dropped queue, --reset-slave).
    const stale = [...(seen ?? (await claimsOf(ctx)))];
    for (const c of stale) if (c.startsWith(Claim.CAUSE) && c !== causeClaim(cause.key)) await released(ctx, s.name, c);
    await claimed(ctx, s.name, causeClaim(cause.key), '');
    ctx.alert({ level: 'CRITICAL', event: events.start, slave: s.name, ...seg, message: outageText(ctx, cause, where) });
    return;
  }
  // Only the first line: `.outage` grows by a line per segment queued during the outage.
  const outage = await ctx.store.read(s.name, Claim.OUTAGE, OUTAGE_HEAD_BYTES).catch(() => undefined);
  if (await causeChanged(ctx, cause, outage, seen)) {
    ctx.alert({
      level: 'CRITICAL',
      event: events.start,
      slave: s.name,
      ...seg,
      message: `${outageText(ctx, cause, where)} (the cause changed during the outage)`,
    });
    return;
  }
  const since = outageStart(outage);
  const periods = since === undefined ? 0 : Math.floor((now - since) / ctx.limits.alertRepeatMs);
  if (periods >= 1 && (await claimed(ctx, s.name, `${Claim.OUTAGE}.${periods}`, ''))) {
    const mins = Math.round((now - since!) / 60_000);
    const still =
      cause.kind === 'write'
        ? `slave ${s.name} (${s.endpoint}) still cannot store segments in ${s.r_archivedir} (${cause.what}) after ${mins} min`
        : `slave ${s.name} (${s.endpoint}) still ${cause.what} after ${mins} min`;
    ctx.alert({
      level: 'CRITICAL',
      event: events.repeat,
      slave: s.name,
      ...seg,
      message: `${still}: ${cause.reason}; ${queued.count} segments (${humanBytes(queued.bytes)}) wait in ${where}`,
    });
  }
}

// The current cause is the one `.cause-KEY` claim: a new cause takes the old claims away (rename:
// one taker) and claims its own (link: one creator), so racing processes alert a change once.
async function causeChanged(ctx: SlaveContext, cause: RemoteCause, outage: string | undefined, seen?: ReadonlySet<string>): Promise<boolean> {
  const claims = seen ?? (await claimsOf(ctx));
  const current = [...claims].filter((c) => c.startsWith(Claim.CAUSE));
  if (current.includes(causeClaim(cause.key))) return false;
  // An outage begun by an older version (no `.cause-` claim) was "unreachable".
  const was = current.length > 0 ? undefined : (outageCause(outage) ?? 'connect');
  for (const c of current) await released(ctx, ctx.slave.name, c);
  return (await claimed(ctx, ctx.slave.name, causeClaim(cause.key), '')) && was !== cause.key;
}

// The cause claims of the slave's queue, looked up by name when the caller has not this run.
async function claimsOf(ctx: SlaveContext): Promise<ReadonlySet<string>> {
  return (await ctx.store.look(ctx.slave.name, CAUSE_CLAIMS).catch(() => undefined))?.claims ?? new Set();
}

/** The cause key recorded when the outage began (first line of `.outage`). */
function outageCause(text: string | undefined): string | undefined {
  try {
    const c = (JSON.parse(text?.split('\n')[0] ?? '') as { cause?: unknown }).cause;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Records a segment queued during the outage, for the count in the recovery message. */
export async function noteQueued(ctx: SlaveContext, segment: string): Promise<void> {
  await ctx.store.append(ctx.slave.name, Claim.OUTAGE, `${segment}\n`).catch(() => undefined);
}

/** Bytes of `.outage` read for its first line (the start and the reason), whatever the outage queued since. */
export const OUTAGE_HEAD_BYTES = 64 * 1024;

/** When the outage began, from the first line of `.outage`. */
export function outageStart(text: string | undefined): number | undefined {
  try {
    const since = (JSON.parse(text?.split('\n')[0] ?? '') as { since?: unknown }).since;
    return typeof since === 'number' ? since : undefined;
  } catch {
    return undefined;
  }
}

/** The queue is empty again: whoever ends the outage sends notify_ok with the number of segments it held. */
export async function noteRecovered(ctx: SlaveContext): Promise<void> {
  const text = await released(ctx, ctx.slave.name, Claim.OUTAGE);
  if (text === undefined) return;
  const scan = await ctx.store.scan(ctx.slave.name).catch(() => undefined);
  for (const c of scan?.claims ?? []) if (c.startsWith(Claim.CAUSE)) await released(ctx, ctx.slave.name, c);
  const names = new Set(
    text
      .split('\n')
      .slice(1)
      .filter((l) => l !== ''),
  );
  ctx.alert({
    level: 'OK',
    event: 'slave_recovered',
    slave: ctx.slave.name,
    message: `slave ${ctx.slave.name} (${ctx.slave.endpoint}) recovered, ${names.size} segments delivered`,
  });
  for (const c of [Claim.OVER_WARN, Claim.OVER_CRITICAL]) await released(ctx, ctx.slave.name, c);
}

/**
 * Alerts when the queue reaches queue_warn_bytes / queue_critical_bytes (>=: a limit set to a whole
 * number of segments fires at that segment, even when the next one would pass queue_max_bytes and
 * drop the queue); re-arms below them.
 */
export async function noteQueueSize(ctx: SlaveContext, bytes: number, files: number, present: ReadonlySet<string>): Promise<void> {
  const { warnBytes, criticalBytes } = ctx.limits;
  const levels = [
    { limit: warnBytes, claim: Claim.OVER_WARN, level: 'WARNING', key: 'queue_warn_bytes' },
    { limit: criticalBytes, claim: Claim.OVER_CRITICAL, level: 'CRITICAL', key: 'queue_critical_bytes' },
  ] as const;
  for (const l of levels) {
    if (l.limit === null) continue;
    if (bytes >= l.limit) {
      if (await claimed(ctx, ctx.slave.name, l.claim, `${new Date(ctx.now()).toISOString()} ${bytes}\n`)) {
        ctx.alert({
          level: l.level,
          event: l.level === 'WARNING' ? 'queue_over_warn' : 'queue_over_critical',
          slave: ctx.slave.name,
          message: `queue of slave ${ctx.slave.name} holds ${humanBytes(bytes)} in ${files} files, reached ${l.key} (${humanBytes(l.limit)})`,
        });
      }
    } else if (present.has(l.claim)) {
      await released(ctx, ctx.slave.name, l.claim);
    }
  }
}

/** The slave (or the queue) holds a different file under this name: one critical alert per slave and name. */
export async function noteConflict(ctx: SlaveContext, name: string, where: 'slave' | 'queue'): Promise<void> {
  const s = ctx.slave;
  if (!(await claimed(ctx, s.name, Claim.conflict(name), `${new Date(ctx.now()).toISOString()} ${where}\n`))) return;
  const message =
    where === 'slave'
      ? `slave ${s.name} (${s.endpoint}) already has a different ${name} in ${s.r_archivedir}; it was NOT overwritten. ` +
        'Find out why (another master archiving there? a reused timeline?), then move that file away on the slave; ' +
        'PostgreSQL keeps retrying until then'
      : `the queue ${ctx.store.root}/${s.name} already holds a different ${name}; it was NOT overwritten. ` +
        'Find out why, then move that file away; PostgreSQL keeps retrying until then';
  ctx.alert({ level: 'CRITICAL', event: 'archive_conflict', slave: s.name, segment: name, message });
}

/** A name was delivered after all: forget its conflict, so a later one alerts again. */
export async function clearConflict(ctx: SlaveContext, name: string, present: ReadonlySet<string>): Promise<void> {
  if (present.has(Claim.conflict(name))) await released(ctx, ctx.slave.name, Claim.conflict(name));
}

/** state: offline: one notify_warning per offline period; the first run after it sends notify_ok. Returns true when online. */
export async function noteState(ctx: StoreAndLog & { alert: AlertFn }, offline: boolean, configFile: string): Promise<boolean> {
  if (offline) {
    if (await claimed(ctx, '', Claim.OFFLINE, `${new Date().toISOString()}\n`)) {
      ctx.alert({
        level: 'WARNING',
        event: 'archiving_offline',
        message: `archiving is offline (state: offline in ${configFile}): PostgreSQL keeps the WAL in pg_wal and retries; ` + 'set state: online to resume',
      });
    }
    return false;
  }
  if ((await released(ctx, '', Claim.OFFLINE)) !== undefined) {
    ctx.alert({ level: 'OK', event: 'archiving_online', message: `archiving is online again (${configFile})` });
  }
  return true;
}

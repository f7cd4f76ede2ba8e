/** What happened to one segment on one slave, and what that means for the exit code. */

/** The result of shipping one segment to one slave. */
export type SlaveOutcome =
  /** On the slave, fsynced under its final name. */
  | { kind: 'delivered'; status: 'created' | 'identical' }
  /** fsynced in the slave's queue; `reason` says why it is not on the slave yet. */
  | { kind: 'queued'; reason: string }
  /** The slave is detached (NEEDS_BASE_BACKUP): shipped at best, never counted. */
  | { kind: 'detached'; delivered: boolean }
  /** Queueing would have passed queue_max_bytes: the slave was detached just now. */
  | { kind: 'dropped' }
  /** A different file already has the name (on the slave or in the queue); nothing overwritten. */
  | { kind: 'conflict'; where: 'slave' | 'queue' }
  /** Neither on the slave nor in its queue. */
  | { kind: 'failed'; reason: string };

/** True when the outcome keeps the promise for this slave (durable there, in its queue, or the slave is detached). */
export function isSafe(o: SlaveOutcome): boolean {
  return o.kind === 'delivered' || o.kind === 'queued' || o.kind === 'detached' || o.kind === 'dropped';
}

/** One line per slave for logs and --dry-run. */
export function describeOutcome(slave: string, o: SlaveOutcome): string {
  switch (o.kind) {
    case 'delivered':
      return `${slave}: ${o.status === 'created' ? 'delivered' : 'already there, identical'}`;
    case 'queued':
      return `${slave}: queued (${o.reason})`;
    case 'detached':
      return `${slave}: detached (needs a new base backup); ${o.delivered ? 'delivered anyway' : 'not delivered'}`;
    case 'dropped':
      return `${slave}: queue dropped, slave detached`;
    case 'conflict':
      return `${slave}: CONFLICT, a different file of that name is already ${o.where === 'slave' ? 'on the slave' : 'in its queue'}`;
    case 'failed':
      return `${slave}: FAILED: ${o.reason}`;
  }
}

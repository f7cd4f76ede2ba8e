/**
 * A SlaveContext that can be silenced: once muted, its alerts are dropped, its log lines become
 * DEBUG and its queue writes fail. For work that is abandoned on purpose (cut past slave_deadline
 * in a run that is about to exit, or cut by cmd_queue's stop): the errors of a cut we made
 * ourselves must not be alerted as the slave's fault, nor change the queue.
 */
import { demotedLogger } from '@pitrtools/core/log';
import type { QueueStore, SlaveContext } from './ports.js';

/** A muteable copy of `ctx`; `mute()` silences it from then on (reads still work). */
export function muteable(ctx: SlaveContext): { ctx: SlaveContext; mute(): void } {
  let muted = false;
  const refuse = (): Promise<never> => Promise.reject(new Error(`work for ${ctx.slave.name} was abandoned; nothing written`));
  const s = ctx.store;
  const store: QueueStore = {
    root: s.root,
    scan: (slave) => s.scan(slave),
    look: (slave, claims) => s.look(slave, claims),
    path: (slave, name) => s.path(slave, name),
    read: (scope, claim, maxBytes) => s.read(scope, claim, maxBytes),
    enqueue: (slave, src, name) => (muted ? refuse() : s.enqueue(slave, src, name)),
    remove: (slave, name) => (muted ? refuse() : s.remove(slave, name)),
    drop: (slave, marker) => (muted ? refuse() : s.drop(slave, marker)),
    resetMarker: (slave) => (muted ? refuse() : s.resetMarker(slave)),
    claim: (scope, claim, content) => (muted ? refuse() : s.claim(scope, claim, content)),
    release: (scope, claim) => (muted ? refuse() : s.release(scope, claim)),
    append: (scope, claim, text) => (muted ? refuse() : s.append(scope, claim, text)),
  };
  const log = demotedLogger(ctx.log, () => muted, '(abandoned) ');
  return {
    ctx: {
      ...ctx,
      store,
      log,
      alert: (a) => {
        if (!muted) ctx.alert(a);
      },
    },
    mute: () => {
      muted = true;
    },
  };
}

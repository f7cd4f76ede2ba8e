/**
 * Alerts raised while segments are being shipped run in the background (a slow hook must not
 * hold the shipping up), one after the other so that they arrive in the order they were raised
 * (the outage before the queue-size warning it causes); the command waits for them before it exits.
 */
import { raiseAlert, type HookConfig } from '@pitrtools/core/alerts';
import type { Logger } from '@pitrtools/core/log';
import type { AlertFn } from '../archive/ports.js';

/** An AlertFn that runs the notify_* hooks in order, and a way to wait for them. */
export function hookAlerts(hooks: HookConfig, log: Logger): { alert: AlertFn; settled(): Promise<void> } {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    alert: (a) => {
      // raiseAlert never throws: a failed hook is logged and the chain goes on.
      tail = tail.then(() => raiseAlert(hooks, { ...a, role: 'archiver' }, log));
    },
    settled: async () => {
      let seen: Promise<unknown> | undefined;
      while (seen !== tail) {
        seen = tail;
        await seen;
      }
    },
  };
}

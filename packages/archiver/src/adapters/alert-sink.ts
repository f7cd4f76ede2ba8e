/**
 * Alerts raised while segments are being shipped run in the background (a slow hook must not
 * hold the other slaves up); the command waits for all of them before it exits.
 */
import { raiseAlert, type HookConfig } from '@pitrtools/core/alerts';
import type { Logger } from '@pitrtools/core/log';
import type { AlertFn } from '../archive/ports.js';

/** An AlertFn that runs the notify_* hooks, and a way to wait for them. */
export function hookAlerts(hooks: HookConfig, log: Logger): { alert: AlertFn; settled(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  return {
    alert: (a) => {
      const p = raiseAlert(hooks, { ...a, role: 'archiver' }, log);
      running.add(p);
      void p.finally(() => running.delete(p));
    },
    settled: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

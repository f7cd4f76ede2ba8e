/**
 * Wiring shared by the commands: the loaded ini turned into the slaves to ship to, the queue
 * store, the limits, the alert hooks, and one SlaveContext per slave.
 */
import { resolve } from 'node:path';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { resolveSlaves, type SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import type { Logger } from '@pitrtools/core/log';
import { hookAlerts } from './adapters/alert-sink.js';
import { fsQueueStore } from './adapters/fs-queue-store.js';
import type { AlertFn, LinkProvider, QueueLimits, QueueStore, SlaveContext } from './archive/ports.js';

/** What a command works with once the ini is loaded. */
export interface ArchiverRuntime {
  config: ArchiverConfig;
  /** The ini as an absolute path (for messages and the commands they suggest). */
  configFile: string;
  slaves: SlaveTarget[];
  store: QueueStore;
  limits: QueueLimits;
  log: Logger;
  alert: AlertFn;
  /** Waits for running notify_* hooks. */
  alertsSettled(): Promise<void>;
  /** The SlaveContext of one slave with the given link. */
  contextFor(slave: SlaveTarget, link: LinkProvider): SlaveContext;
}

/** The queue limits of a config, in bytes and milliseconds. */
export function queueLimits(config: ArchiverConfig, configFile: string): QueueLimits {
  return {
    warnBytes: config.queue_warn_bytes,
    criticalBytes: config.queue_critical_bytes,
    maxBytes: config.queue_max_bytes,
    alertRepeatMs: config.queue_alert_repeat * 1000,
    drainBudgetMs: config.queue_drain_budget * 1000,
    configFile,
  };
}

/** Builds the runtime of a loaded config. */
export function archiverRuntime(config: ArchiverConfig, log: Logger): ArchiverRuntime {
  const configFile = resolve(config.file);
  const store = fsQueueStore(config.l_archivedir);
  const limits = queueLimits(config, configFile);
  const hooks = hookAlerts(config, log);
  return {
    config,
    configFile,
    slaves: resolveSlaves(config),
    store,
    limits,
    log,
    alert: hooks.alert,
    alertsSettled: () => hooks.settled(),
    contextFor: (slave, link) => ({
      slave: { name: slave.name, endpoint: `${slave.user}@${slave.host}:${slave.port}`, r_archivedir: slave.r_archivedir },
      store,
      link,
      alert: hooks.alert,
      now: Date.now,
      log,
      limits,
    }),
  };
}

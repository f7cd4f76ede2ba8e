/**
 * cmd_queue: delivers the queues every queue_wait (max_queue_workers slaves at a time) and, with
 * warm_path on, is the warm shipper: one SSH connection per slave kept open, a look-ahead on
 * pg_wal/archive_status that ships each .ready segment at once, and proof markers from which
 * cmd_archiver -F answers (proof-markers.ts). It runs while the postmaster
 * runs, exits when the postmaster or the ini changes (the next cmd_archiver starts a fresh one),
 * and on the abort signal (SIGTERM/SIGINT).
 */
import { join } from 'node:path';
import { humanBytes } from '@pitrtools/core/bytes';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { ExitCode, PitrError, errorMessage } from '@pitrtools/core/errors';
import { removeStaleTemps } from '@pitrtools/core/fs/atomic';
import type { Logger } from '@pitrtools/core/log';
import { localServer } from '@pitrtools/core/pg/local-server';
import { checkQueueDirs, requireQueueRoot } from '../adapters/fs-queue-store.js';
import { muteable } from '../archive/mute.js';
import pLimit from 'p-limit';
import { archiverRuntime, type ArchiverRuntime } from '../runtime.js';
import { watchReady, type ReadyWatcher } from './lookahead.js';
import { fileIdentity } from './file-identity.js';
import { iniStamp } from './ini-stamp.js';
import { acquirePidFile } from './pidfile.js';
import { ProofMarkers } from './proof-markers.js';
import { daemonUploadBudget, SlaveWorker } from './slave-worker.js';
import { WarmArchiver } from './warm-archiver.js';

/** Options of the long-running queue runner. */
export interface DaemonOptions {
  config: ArchiverConfig;
  log: Logger;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
  /** How often to check the postmaster and the ini (ms); default 1000. */
  watchMs?: number;
  /** iniStamp() taken before the config was loaded (else now). */
  configStamp?: string;
  /**
   * file-identity.ts line of the ini (lstat) taken before the config was loaded; proof markers
   * carry it. Undefined (a symbolic link, not taken): no markers.
   */
  configIdentity?: string;
}

/** Runs until the postmaster stops, the ini changes or `signal` aborts; returns the exit code. */
export async function runDaemon(o: DaemonOptions): Promise<number> {
  const { config, log } = o;
  const rt = archiverRuntime(config, log);
  await requireQueueRoot(config.l_archivedir, rt.configFile);
  // Exit 2 before the pid file or a marker is written there.
  await checkQueueDirs(
    config.l_archivedir,
    rt.slaves.map((s) => s.name),
  );
  if (!(await localServer(config.pgdata)).running) {
    log.info(`PostgreSQL is not running in ${config.pgdata}; nothing to do (cmd_queue --once delivers the queues now)`);
    return ExitCode.OK;
  }
  const pid = await acquirePidFile(config.l_archivedir);
  if ('running' in pid) {
    log.info(`cmd_queue is already running for ${config.l_archivedir} (pid ${pid.running})`);
    return ExitCode.OK;
  }
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort);
  // A SIGTERM that came while starting (the 'abort' event fires once, before this listener existed).
  if (o.signal.aborted) stop.abort();
  let markers: ProofMarkers | undefined;
  let watcher: ReadyWatcher | undefined;
  const timers: NodeJS.Timeout[] = [];
  const { workers, muteAll } = makeWorkers(rt);
  // Connect now: the SSH handshakes are the slowest part of starting, and a burst waits on them.
  if (config.warm_path) for (const w of workers) void w.get().catch(() => undefined);
  const stamp = o.configStamp ?? (await iniStamp(rt.configFile));
  // A directory opened to others while we run (chmod 0777 on a queue): stop, and let every
  // cmd_archiver take the slow path, which refuses it with exit 2 and the fix.
  let refused: PitrError | undefined;
  const dirsRefused = async (): Promise<PitrError | undefined> => {
    if (refused) return refused;
    refused = await checkQueueDirs(
      config.l_archivedir,
      rt.slaves.map((s) => s.name),
    ).then(
      () => undefined,
      (e: unknown) => (e instanceof PitrError ? e : undefined),
    );
    if (refused) {
      log.error(`${refused.message}; cmd_queue exits (${refused.hint ?? ''})`);
      stop.abort();
    }
    return refused;
  };
  // An answer is only true for the ini it was worked out with: check it before and after.
  const iniChanged = async (): Promise<boolean> => {
    if (stop.signal.aborted) return true;
    if ((await iniStamp(rt.configFile)) === stamp) return false;
    log.info(`${rt.configFile} changed; cmd_queue exits (the next cmd_archiver starts it again)`);
    stop.abort();
    return true;
  };
  try {
    log.info(`cmd_queue started (pid ${process.pid}) for ${rt.configFile}: ${workers.length} slaves, warm path ${config.warm_path ? 'on' : 'off'}`);
    if (config.warm_path) {
      const offline = config.state === 'offline';
      markers = new ProofMarkers({
        lArchivedir: config.l_archivedir,
        iniIdentity: o.configIdentity,
        log,
        ...(offline
          ? { off: `state is offline in ${rt.configFile}` }
          : o.configIdentity === undefined
            ? { off: `${rt.configFile} is a symbolic link or was not identified; point archive_command at the file itself` }
            : {}),
        // The marker says "true for the ini as loaded": the loaded one must still be there.
        iniUnchanged: async () => !(await iniChanged()) && (await fileIdentity(rt.configFile))?.line === o.configIdentity,
      });
      await markers.open();
      const warm = new WarmArchiver({
        pgdata: config.pgdata,
        offline,
        workers,
        log,
        maxAhead: config.upload_lanes * 2,
        markers,
        mayShipAhead: async () => !(await iniChanged()),
      });
      watcher = watchReady(config.pgdata, 1000, log, (names, at, ready, horizon) => warm.onReady(names, at, ready, horizon));
    }
    const drainAll = async (): Promise<void> => {
      const busy = [];
      for (const w of workers) if ((await rt.store.look(w.target.name, []).catch(() => undefined))?.count) busy.push(w);
      const limit = pLimit(Math.max(1, config.max_queue_workers));
      await Promise.all(busy.map((w) => limit(() => w.drain().catch((e: unknown) => log.error(errorMessage(e))))));
    };
    const every = (ms: number, fn: () => Promise<void>): void => {
      let running = false;
      timers.push(
        setInterval(() => {
          if (running) return;
          running = true;
          void fn()
            .catch((e: unknown) => log.error(errorMessage(e)))
            .finally(() => {
              running = false;
            });
        }, ms),
      );
    };
    void drainAll();
    every(config.queue_wait * 1000, drainAll);
    every(3_600_000, () => housekeeping(rt, workers));
    every(o.watchMs ?? 1000, async () => {
      if (!(await localServer(config.pgdata)).running) {
        log.info('the postmaster is gone; cmd_queue exits');
        stop.abort();
      } else if (!(await dirsRefused())) {
        await iniChanged();
      }
    });
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      stop.signal.addEventListener('abort', () => resolve());
    });
    const peak = `peak RSS ${humanBytes(process.resourceUsage().maxRSS * 1024)}`;
    log.info(`cmd_queue stopping (${markers ? `${markers.written} proof markers written, ` : ''}${peak})`);
    return refused ? refused.exitCode : ExitCode.OK;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    for (const t of timers) clearInterval(t);
    watcher?.stop();
    // Stopping takes a few seconds at most, whatever is in flight: the work left behind is muted
    // (a cut we make is no outage to alert, and changes no queue), the connections are cut (a
    // queued file stays queued; temps on the slaves go with the next removeStaleTemps), a cmd_archiver
    // waiting for a proof marker sees the daemon gone and does the job itself, and alert hooks still
    // running after STOP_GRACE_MS finish on their own after we exit.
    muteAll();
    for (const w of workers) w.cut();
    const settled = await Promise.race([rt.alertsSettled().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), STOP_GRACE_MS).unref())]);
    if (!settled) log.info(`alert hooks still running after ${STOP_GRACE_MS} ms; cmd_queue exits without waiting for them`);
    await pid.release();
  }
}

/** How long alert hooks may take once stopping: SIGTERM is obeyed within seconds. */
const STOP_GRACE_MS = 1500;

/** A slave that was down is retried this soon when a new segment comes for it (SlaveWorker.nudge). */
const PROMPT_RETRY_MS = 3000;

// The daemon queues a new segment at once behind older ones (its drain runs in the background),
// so PostgreSQL never waits for a backlog: drainBudgetMs is 0 here.
function makeWorkers(rt: ArchiverRuntime): { workers: SlaveWorker[]; muteAll(): void } {
  const mutes: Array<() => void> = [];
  const budget = daemonUploadBudget();
  const workers = rt.slaves.map((s) => {
    const retryMs = rt.config.queue_wait * 1000;
    const w = new SlaveWorker(s, {
      lanes: rt.config.upload_lanes,
      ...budget,
      retryMs,
      promptRetryMs: Math.min(retryMs, PROMPT_RETRY_MS),
      sshDebug: rt.config.ssh_debug,
      log: rt.log,
      onConnected: (worker) => {
        void worker.drain().catch(() => undefined);
        void worker.removeStaleTemps();
      },
    });
    const m = muteable({ ...rt.contextFor(s, w), limits: { ...rt.limits, drainBudgetMs: 0 } });
    w.ctx = m.ctx;
    mutes.push(m.mute);
    return w;
  });
  return {
    workers,
    muteAll: () => {
      for (const mute of mutes) mute();
    },
  };
}

async function housekeeping(rt: ArchiverRuntime, workers: SlaveWorker[]): Promise<void> {
  for (const w of workers) {
    await w.removeStaleTemps();
    await removeStaleTemps(join(rt.config.l_archivedir, w.target.name), 3_600_000).catch(() => 0);
    // A full listing now and then repairs the queue's summary after files were added by hand.
    await rt.store.scan(w.target.name).catch(() => undefined);
  }
}

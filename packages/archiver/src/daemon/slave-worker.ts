/**
 * cmd_queue's side of one slave: one SSH connection kept open (reconnected when it dies, at most
 * once per retry interval while the slave is down), up to `lanes` SFTP channels on it so several
 * segments upload at once, and a queue drain that never runs twice at the same time.
 */
import type { SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import { errorMessage, PitrError } from '@pitrtools/core/errors';
import { demotedLogger, type Logger } from '@pitrtools/core/log';
import { connectSsh, uploadAtomic, type SftpChannel, type SshSession } from '@pitrtools/core/ssh/index';
import { drainQueue, isRemoteError, remoteReason, scanQueue, type DrainResult } from '../archive/deliver.js';
import { noteOutage } from '../archive/claims.js';
import { remoteCause } from '../archive/remote-cause.js';
import type { LinkProvider, PlaceStatus, SlaveContext, SlaveLink } from '../archive/ports.js';
import { sessionLink, sshTargetOf, UPLOAD_IN_FLIGHT, warnNoDirFsync } from '../adapters/ssh-link.js';
import { BufferPool } from '@pitrtools/core/buffer-pool';
import { WalStreamPool } from '../adapters/wal-stream-pool.js';
import { paceGc } from '../gc-pacer.js';
import { SharedRuns } from './shared-runs.js';

/** Settings of a worker. */
export interface WorkerOptions {
  lanes: number;
  /** SFTP WRITE requests in flight per upload at most (UPLOAD_IN_FLIGHT). */
  inFlight: number;
  /** The daemon-wide pool of WRITE buffers (daemonUploadBudget), shared by every upload of every slave. */
  buffers?: BufferPool;
  /** After a failed connect, requests fail at once for this long instead of waiting for another timeout. */
  retryMs: number;
  /** A new segment for a slave with a queue retries a failed connect once this long has passed (nudge()). */
  promptRetryMs: number;
  sshDebug: boolean;
  log: Logger;
  /** Called after each successful (re)connect, e.g. to start draining. */
  onConnected(worker: SlaveWorker): void;
}

/**
 * WRITE requests all of cmd_queue's uploads keep in flight together. Each one costs up to three
 * copies of 255 KiB until sshd takes it (our read buffer, ssh2's SFTP packet, the encrypted SSH
 * packets). With UPLOAD_IN_FLIGHT on every lane the daemon peaked at 108 MB RSS with 1 slave and
 * 146 MB with 3 (it starts at 65 MB); with this budget at 94 and 97 MB, in the same time (bench/,
 * `cmd_queue peak RSS`; on loopback the 2 cores, not the window, limit the rate).
 */
export const DAEMON_WRITES_IN_FLIGHT = 12;

/** Bytes of one SFTP WRITE: OpenSSH's sftp-server takes at most 255 KiB (ssh2 reads it from limits@openssh.com). */
const WRITE_BYTES = 255 * 1024;

/**
 * What every upload of one cmd_queue gets: up to UPLOAD_IN_FLIGHT requests each, reading into
 * one pool of DAEMON_WRITES_IN_FLIGHT buffers shared by every upload of every slave (a request
 * takes one and gives it back at its answer). An upload alone uses all of UPLOAD_IN_FLIGHT,
 * sshd's whole 2 MiB window; several share the pool, and no upload allocates buffers of its own.
 * It used to be split evenly in advance (12 / lanes x slaves, at least 2): a lone segment had 4
 * requests, half the window, and took 2.1 x an `ssh cat` of it over 1 Gbit/s with 30 ms each way
 * (bench part wan); slots taken per request with a buffer per lane (1b2b591) fixed that but
 * raised cmd_queue's peak to 102 MB on the 100 Mbit/s link (24 lane buffers and their garbage).
 */
export function daemonUploadBudget(): Pick<WorkerOptions, 'inFlight' | 'buffers'> {
  return { inFlight: UPLOAD_IN_FLIGHT, buffers: new BufferPool(WRITE_BYTES, DAEMON_WRITES_IN_FLIGHT) };
}

// Not an SSH_ code: deliver.ts then counts it as no delivery without calling it an outage.
const stopping = (): PitrError => new PitrError('QUEUE_STOPPING', 'cmd_queue is stopping; the segment was not delivered');

/** A persistent link to one slave. */
export class SlaveWorker implements LinkProvider {
  private session: SshSession | undefined;
  private connecting: Promise<SshSession> | undefined;
  private failure: { at: number; err: unknown } | undefined;
  private readonly free: SftpChannel[] = [];
  private open = 0;
  private readonly waiters: Array<() => void> = [];
  private draining: Promise<DrainResult> | undefined;
  private stopped = false;
  private nudgeTimer: NodeJS.Timeout | undefined;
  /** Uploads in flight by file name: a segment's name names its content, so one copy over the link is enough. */
  private readonly uploading = new SharedRuns<PlaceStatus>();
  /** Set by the daemon once the context (which needs this provider) exists. */
  ctx!: SlaveContext;
  private closed = false;
  private readonly streams: WalStreamPool;

  constructor(
    readonly target: SlaveTarget,
    private readonly opts: WorkerOptions,
  ) {
    warnNoDirFsync(target, opts.log);
    this.streams = new WalStreamPool(target, opts.log, opts.lanes);
  }

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.session !== undefined && this.session.closedError === undefined;
  }

  /** The link, connecting if needed; throws the connect error (cached for retryMs) when the slave is down. */
  async get(): Promise<SlaveLink> {
    if (this.closed || this.stopped) throw stopping();
    const s = await this.sessionNow();
    const base = sessionLink(s, this.target.r_archivedir);
    const streams = this.streams;
    return {
      upload: (src, name) => this.upload(s, src, name),
      stat: base.stat,
      get ahead() {
        return streams.ahead;
      },
    };
  }

  private async sessionNow(): Promise<SshSession> {
    if (this.stopped) throw new Error(`cmd_queue is stopping; not connecting to ${this.target.name}`);
    if (this.connected) return this.session!;
    this.session = undefined;
    if (this.failure && Date.now() - this.failure.at < this.opts.retryMs) throw this.failure.err;
    this.connecting ??= connectSsh(sshTargetOf(this.target, this.opts.sshDebug, this.opts.log), this.opts.log)
      .then(
        (s) => {
          this.session = s;
          this.failure = undefined;
          this.opts.log.info(`connected to slave ${this.target.name} (${s.endpoint})`);
          this.opts.onConnected(this);
          return s;
        },
        (err: unknown) => {
          if (!this.failure) this.opts.log.warning(`slave ${this.target.name}: ${errorMessage(err)}`);
          this.failure = { at: Date.now(), err };
          throw err;
        },
      )
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  // The queued copy of a segment whose upload went on past slave_deadline waits for that upload
  // instead of sending the same bytes again over a slow link; it is sent only if that one failed.
  private upload(s: SshSession, src: string, name: string): Promise<PlaceStatus> {
    return this.uploading.run(
      name,
      () => this.uploadNow(s, src, name),
      (r) => (r === 'created' ? 'identical' : r),
    );
  }

  private async uploadNow(s: SshSession, src: string, name: string): Promise<PlaceStatus> {
    try {
      return await this.uploadOn(s, src, name);
    } catch (err) {
      // Our own shutdown cut it: no news about the slave, so no alert (not an SSH_ error).
      throw this.closed || this.stopped ? stopping() : err;
    }
  }

  private async uploadOn(s: SshSession, src: string, name: string): Promise<PlaceStatus> {
    // compress: through the slave's WAL receiver, pipelined on up to `lanes` exec channels.
    if (this.streams.active) {
      const stopGcStream = paceGc(); // the compressed payloads and ssh2's packets die young: collect them as they do
      try {
        const status = await this.streams.send(s, src, name);
        if (status !== undefined) return status;
      } finally {
        stopGcStream();
      }
    }
    const ch = await this.acquire(s);
    let healthy = true;
    const stopGc = paceGc();
    try {
      return (
        await uploadAtomic(ch, { path: src }, this.target.r_archivedir, name, {
          log: this.uploadLog(),
          inFlight: this.opts.inFlight,
          ...(this.opts.buffers ? { buffers: this.opts.buffers } : {}),
          dirFsync: this.target.remoteDirFsync,
          privateDir: 'r_archivedir',
        })
      ).status;
    } catch (err) {
      healthy = ch.live.error === undefined;
      throw err;
    } finally {
      stopGc();
      this.releaseChannel(ch, healthy);
    }
  }

  // Once cmd_queue stops, what a cut upload reports (its temp file left behind) is of our own making.
  private uploadLog(): Logger {
    return demotedLogger(this.opts.log, () => this.stopped);
  }

  // A channel of the current session: a free one, a new one while under `lanes`, else wait.
  private async acquire(s: SshSession): Promise<SftpChannel> {
    for (;;) {
      const ch = this.free.pop();
      if (ch) {
        if (ch.live.error === undefined) return ch;
        this.open--;
        continue;
      }
      if (this.open < this.opts.lanes) {
        this.open++;
        try {
          return await s.openSftp();
        } catch (err) {
          this.open--;
          this.wake();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private releaseChannel(ch: SftpChannel, healthy: boolean): void {
    if (healthy && ch.live.error === undefined) this.free.push(ch);
    else {
      this.open--;
      ch.end();
    }
    this.wake();
  }

  private wake(): void {
    this.waiters.shift()?.();
  }

  /** Delivers the queue in WAL order until it is empty or the slave fails; concurrent calls share one run. */
  drain(): Promise<DrainResult> {
    this.draining ??= (async () => {
      let total = 0;
      for (;;) {
        // Connect before listing: while the slave is down a drain (one per queued segment) costs
        // the same whatever the queue holds; the outage is noted from the queue's summary.
        const look = await this.ctx.store.look(this.target.name, []).catch(() => undefined);
        if (look !== undefined && look.count > 0 && look.detached === undefined) {
          const down = await this.get().then(
            () => undefined,
            (err: unknown) => err,
          );
          if (down !== undefined && isRemoteError(down)) {
            await noteOutage(this.ctx, remoteCause(down, remoteReason(down)), look);
            // `remaining` stays unlisted (empty): all of the queue still waits, in its directory.
            return { delivered: total, remaining: [], stopped: { why: 'unreachable' as const, reason: remoteReason(down) } };
          }
        }
        const scan = await scanQueue(this.ctx);
        if (scan.files.length === 0 || scan.detached !== undefined) return { delivered: total, remaining: [] };
        const r = await drainQueue(this.ctx, scan, Number.POSITIVE_INFINITY);
        total += r.delivered;
        if (r.delivered > 0) this.opts.log.info(`slave ${this.target.name}: ${r.delivered} queued segments delivered`);
        // New segments may have been queued meanwhile: go round again until empty or stuck.
        if (r.remaining.length > 0 || r.delivered === 0) return { ...r, delivered: total };
      }
    })().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /**
   * A new segment for this slave: drain its queue now, and if the last connect failed at least
   * promptRetryMs ago, try connecting again rather than wait out retryMs (queue_wait). Rate-limited
   * by the failure's time, so a slave that stays down costs one connect attempt per promptRetryMs.
   */
  nudge(): void {
    if (this.stopped) return;
    if (this.failure) {
      const wait = this.failure.at + this.opts.promptRetryMs - Date.now();
      if (wait > 0) {
        // Too soon after the last attempt: try once it is allowed, not only at the next segment.
        this.nudgeTimer ??= setTimeout(() => {
          this.nudgeTimer = undefined;
          this.nudge();
        }, wait).unref();
        return;
      }
      this.failure = undefined;
    }
    void this.drain().catch(() => undefined);
  }

  /** Removes temp files of killed uploads (older than an hour) from r_archivedir. */
  async removeStaleTemps(): Promise<void> {
    if (!this.connected) return;
    const gone = await this.session!.removeStaleTemps(this.target.r_archivedir, 3600).catch(() => []);
    if (gone.length > 0) this.opts.log.info(`slave ${this.target.name}: removed ${gone.length} stale temp files from ${this.target.r_archivedir}`);
  }

  /**
   * For cmd_queue's stop: cuts the connection at once and connects no more. Uploads in flight fail
   * (their temp files are removed by a later removeStaleTemps; a queued file stays queued).
   */
  cut(): void {
    this.stopped = true;
    clearTimeout(this.nudgeTimer);
    const s = this.session;
    this.session = undefined;
    s?.destroy();
    void this.connecting?.then(
      (c) => c.destroy(),
      () => undefined,
    );
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    const s = this.session ?? (await this.connecting?.catch(() => undefined));
    this.session = undefined;
    this.streams.end();
    await s?.close();
  }
}

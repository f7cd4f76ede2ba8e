/**
 * cmd_queue's side of one slave: one SSH connection kept open (reconnected when it dies, at most
 * once per retry interval while the slave is down), up to `lanes` SFTP channels on it so several
 * segments upload at once, and a queue drain that never runs twice at the same time.
 */
import type { SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import { errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { connectSsh, uploadAtomic, type SftpChannel, type SshSession } from '@pitrtools/core/ssh/index';
import { drainQueue, isRemoteError, remoteReason, scanQueue, type DrainResult } from '../archive/deliver.js';
import { noteOutage } from '../archive/claims.js';
import type { LinkProvider, SlaveContext, SlaveLink } from '../archive/ports.js';
import { sessionLink, sshTargetOf, UPLOAD_IN_FLIGHT } from '../adapters/ssh-link.js';
import { paceGc } from '../gc-pacer.js';

/** Settings of a worker. */
export interface WorkerOptions {
  lanes: number;
  /** SFTP WRITE requests in flight per upload (see inFlightPerUpload). */
  inFlight: number;
  /** After a failed connect, requests fail at once for this long instead of waiting for another timeout. */
  retryMs: number;
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
const DAEMON_WRITES_IN_FLIGHT = 12;

/** WRITE requests per upload: the daemon's budget shared by every lane of every slave, 2 to UPLOAD_IN_FLIGHT. */
export function inFlightPerUpload(lanes: number, slaves: number): number {
  return Math.max(2, Math.min(UPLOAD_IN_FLIGHT, Math.floor(DAEMON_WRITES_IN_FLIGHT / Math.max(1, lanes * slaves))));
}

/** A persistent link to one slave. */
export class SlaveWorker implements LinkProvider {
  private session: SshSession | undefined;
  private connecting: Promise<SshSession> | undefined;
  private failure: { at: number; err: unknown } | undefined;
  private readonly free: SftpChannel[] = [];
  private open = 0;
  private readonly waiters: Array<() => void> = [];
  private draining: Promise<DrainResult> | undefined;
  /** Set by the daemon once the context (which needs this provider) exists. */
  ctx!: SlaveContext;

  constructor(readonly target: SlaveTarget, private readonly opts: WorkerOptions) {}

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.session !== undefined && this.session.closedError === undefined;
  }

  /** The link, connecting if needed; throws the connect error (cached for retryMs) when the slave is down. */
  async get(): Promise<SlaveLink> {
    const s = await this.sessionNow();
    const base = sessionLink(s, this.target.r_archivedir);
    return { upload: (src, name) => this.upload(s, src, name), stat: base.stat };
  }

  private async sessionNow(): Promise<SshSession> {
    if (this.connected) return this.session!;
    this.session = undefined;
    if (this.failure && Date.now() - this.failure.at < this.opts.retryMs) throw this.failure.err;
    this.connecting ??= connectSsh(sshTargetOf(this.target, this.opts.sshDebug, this.opts.log), this.opts.log).then(
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
    ).finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async upload(s: SshSession, src: string, name: string): Promise<'created' | 'identical' | 'conflict'> {
    const ch = await this.acquire(s);
    let healthy = true;
    const stopGc = paceGc();
    try {
      return (await uploadAtomic(ch, { path: src }, this.target.r_archivedir, name, { log: this.opts.log, inFlight: this.opts.inFlight })).status;
    } catch (err) {
      healthy = ch.live.error === undefined;
      throw err;
    } finally {
      stopGc();
      this.releaseChannel(ch, healthy);
    }
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
          const down = await this.get().then(() => undefined, (err: unknown) => err);
          if (down !== undefined && isRemoteError(down)) {
            await noteOutage(this.ctx, remoteReason(down), look);
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
    })().finally(() => { this.draining = undefined; });
    return this.draining;
  }

  /** Removes temp files of killed uploads (older than an hour) from r_archivedir. */
  async removeStaleTemps(): Promise<void> {
    if (!this.connected) return;
    const gone = await this.session!.removeStaleTemps(this.target.r_archivedir, 3600).catch(() => []);
    if (gone.length > 0) this.opts.log.info(`slave ${this.target.name}: removed ${gone.length} stale temp files from ${this.target.r_archivedir}`);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    const s = this.session ?? (await this.connecting?.catch(() => undefined));
    this.session = undefined;
    await s?.close();
  }
}

/**
 * The WAL streams of one slave under compress (core/ssh/wal-stream.ts): up to `lanes` exec
 * channels per SSH session, each pipelined, so more than one channel window (OpenSSH: 2 MiB) is
 * in flight on a long path. A stream sends before its receiver's hello (openWalStream); when the
 * receiver turns out not to start on the slave, one WARNING names slave_cmd_standby and the fix,
 * and the segments sent to it and every later one of this pool go over SFTP.
 */
import { humanBytes } from '@pitrtools/core/bytes';
import { codecFor, formatCompress, type Codec } from '@pitrtools/core/compress';
import type { SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import type { Logger } from '@pitrtools/core/log';
import type { SshSession } from '@pitrtools/core/ssh/index';
import { openWalStream, ReceiverUnavailable, type WalStream } from '@pitrtools/core/ssh/wal-stream';
import { compareWalNames } from '@pitrtools/core/wal';
import { FrameTooLarge, PiecePool } from '@pitrtools/core/wire/send';
import type { PlaceStatus } from '../archive/ports.js';

/** Queued segments the drain keeps in flight on streams (their memory is the slave's PiecePool, whatever this is). */
export const PIPELINE_AHEAD = 8;

/** OpenSSH's window of a session channel (CHAN_SES_WINDOW_DEFAULT, channels.h): what one channel has in flight at most. */
const CHANNEL_WINDOW = 2 * 1024 * 1024;

/**
 * A lane is window-bound when, while its pieces waited for the window, it took at least this
 * share of one window per round trip. OpenSSH adjusts a window once half of it is used, so a
 * window-bound channel takes well under a whole one: 0.58-0.60 of it measured over bench part
 * wan's 1 Gbit/s link with 30 ms each way, 0.39 over its 100 Mbit/s one (the link the limit).
 */
const WINDOW_BOUND = 0.48;

/** Type of a file's outcome on a stream; undefined: send it over SFTP. */
type Status = PlaceStatus | undefined;

interface Job {
  src: string;
  name: string;
  resolve(s: Status): void;
  reject(e: unknown): void;
}

/** One exec channel of the pool: its stream once open, whether it is writing a file, and the round trip its opening measured. */
interface Lane {
  opened: Promise<WalStream>;
  stream?: WalStream;
  failed?: boolean;
  writing: boolean;
  /** Settles once the file being written (if any) is written: the stream is ended only then. */
  written: Promise<unknown>;
  /** Half the time the channel's open and exec took (two round trips). */
  rttMs?: number;
}

/** Streams of one slave; `send(session, src, name)` ships a file through one, or says to use SFTP. */
export class WalStreamPool {
  private readonly codec: Codec | undefined;
  private pieces: PiecePool | undefined;
  private fallback: string | undefined;
  private session: SshSession | undefined;
  private open: Lane[] = [];
  /** Files waiting for a lane to be free to write, in the order they were sent. */
  private readonly queue: Job[] = [];
  private recheck: NodeJS.Timeout | undefined;
  private dispatchSoon: NodeJS.Immediate | undefined;
  private ended = false;

  constructor(
    private readonly t: SlaveTarget,
    private readonly log: Logger,
    private readonly lanes = 1,
  ) {
    // A codec that cannot load is an error at the first segment (COMPRESS_UNAVAILABLE), never a silent fallback.
    this.codec = t.compress.algo === 'none' ? undefined : codecFor(t.compress);
  }

  /** Segments worth having in flight (the queue drain's pipeline): several once a stream is open, else 1. */
  get ahead(): number {
    return this.open.some((l) => l.stream !== undefined) && this.fallback === undefined ? PIPELINE_AHEAD : 1;
  }

  /** Whether this slave ships compressed at all. */
  get active(): boolean {
    return this.codec !== undefined && this.fallback === undefined;
  }

  /**
   * Ships `src` as `name` through a stream on `session`: its status, or undefined when the file
   * must go over SFTP (compress none, the receiver did not start on the slave: then every later
   * file of this pool too, or a file larger than a frame carries). Throws SshError when the
   * connection fails or the stream's channel cannot be opened, and what WalStream.put throws
   * otherwise.
   *
   * Files go out in the order they are sent: each waits until a lane is free to write (its
   * previous file written to the channel, not yet answered: files are pipelined). A second lane,
   * up to `lanes`, opens only while the open ones are window-bound (WINDOW_BOUND): then a
   * channel window (OpenSSH: 2 MiB) per round trip is what limits the stream, and more channels
   * carry more (1 Gbit/s with 30 ms each way needs 4). On a link that is the limit a second lane
   * only shares it: the oldest segment, the one PostgreSQL waits for, would arrive later.
   */
  send(session: SshSession, src: string, name: string): Promise<Status> {
    if (!this.active) return Promise.resolve(undefined);
    if (this.ended) return Promise.reject(new Error(`the WAL streams to ${this.t.name} were ended; ${name} not sent`));
    if (session !== this.session) {
      // A new connection: the old one's channels are of no more use (their files finish first).
      this.endLanes();
      this.session = session;
    }
    return new Promise<Status>((resolve, reject) => {
      // In WAL order, not in the order the callers got here (their file system calls finish in
      // any order): PostgreSQL waits for the oldest segment first.
      const at = this.queue.findIndex((j) => compareWalNames(name, j.name) < 0);
      this.queue.splice(at < 0 ? this.queue.length : at, 0, { src, name, resolve, reject });
      // Once the callers of this turn of the event loop are all queued (a burst arrives at once).
      this.dispatchSoon ??= setImmediate(() => {
        this.dispatchSoon = undefined;
        this.dispatch();
      });
    });
  }

  /** Starts queued files on free lanes, opening lanes while the open ones are window-bound. */
  private dispatch(): void {
    clearTimeout(this.recheck);
    this.recheck = undefined;
    while (this.queue.length > 0 && !this.ended) {
      if (!this.active) {
        for (const j of this.queue.splice(0)) j.resolve(undefined);
        return;
      }
      this.open = this.open.filter((l) => !l.failed && (l.stream === undefined || l.stream.usable));
      let lane = this.open.find((l) => !l.writing);
      if (lane === undefined && this.open.length < this.lanes && (this.open.length === 0 || this.windowBound())) {
        lane = this.openLane(this.session!, this.open.length + 1);
        this.open.push(lane);
      }
      if (lane === undefined) {
        // Look again in a round trip or two: the open lanes may turn out window-bound meanwhile.
        if (this.open.length < this.lanes) this.recheck = setTimeout(() => this.dispatch(), Math.max(20, 2 * this.rttMs())).unref();
        return;
      }
      this.start(lane, this.queue.shift()!);
    }
  }

  private start(lane: Lane, job: Job): void {
    lane.writing = true;
    const freed = (): void => {
      lane.writing = false;
      this.dispatch();
    };
    lane.opened
      .then((stream) => {
        const sent = stream.send(job.src, job.name);
        lane.written = sent.written;
        void sent.written.then(freed);
        return sent.status;
      })
      .then(job.resolve, (err: unknown) => {
        if (lane.failed) freed();
        if (err instanceof FrameTooLarge) return job.resolve(undefined);
        if (!(err instanceof ReceiverUnavailable)) return job.reject(err);
        this.fallBack(err);
        job.resolve(undefined);
        this.dispatch();
      });
  }

  private rttMs(): number {
    const rtts = this.open.map((l) => l.rttMs).filter((r): r is number => r !== undefined);
    return rtts.length ? Math.min(...rtts) : 0;
  }

  /**
   * Every open lane has waited on its window for two round trips or more since its receiver said
   * hello, and took WINDOW_BOUND of a window per round trip meanwhile: so one lane more per
   * verdict, and the next only once that one is window-bound too.
   */
  private windowBound(): boolean {
    const rtt = this.rttMs();
    if (rtt <= 0) return false;
    const perRtt = CHANNEL_WINDOW / rtt;
    let slowest: { ms: number; bytes: number } | undefined;
    for (const l of this.open) {
      const w = l.stream?.windowWaits;
      if (w === undefined || w.ms < 2 * rtt || w.bytes / w.ms < WINDOW_BOUND * perRtt) return false;
      if (slowest === undefined || w.bytes / w.ms < slowest.bytes / slowest.ms) slowest = w;
    }
    if (slowest === undefined) return false;
    if (this.log.debugEnabled)
      this.log.debug(
        `slave ${this.t.name}: WAL streams window-bound (${humanBytes((slowest.bytes / slowest.ms) * 1000)}/s while waiting, one window per ${rtt.toFixed(1)} ms round trip ${humanBytes(perRtt * 1000)}/s): one more`,
      );
    return true;
  }

  /** Ends the streams (the receivers exit after their answers). */
  end(): void {
    this.ended = true;
    clearTimeout(this.recheck);
    if (this.dispatchSoon) clearImmediate(this.dispatchSoon);
    this.dispatchSoon = undefined;
    for (const j of this.queue.splice(0)) j.reject(new Error(`the WAL streams to ${this.t.name} were ended; ${j.name} not sent`));
    this.endLanes();
  }

  /** Ends each lane's stream once the file it is writing is written (the receiver then answers what it has and exits). */
  private endLanes(): void {
    for (const l of this.open)
      void l.opened.then(
        (s) => l.written.then(() => s.end()),
        () => undefined,
      );
    this.open = [];
  }

  private openLane(session: SshSession, n: number): Lane {
    const t0 = performance.now();
    const lane: Lane = {
      writing: false,
      written: Promise.resolve(),
      opened: openWalStream(session, {
        cmdStandby: this.t.cmdStandby,
        dir: this.t.r_archivedir,
        pieces: (this.pieces ??= new PiecePool(this.codec!)),
        dirFsync: this.t.remoteDirFsync,
        helloTimeoutMs: Math.max(this.t.connectTimeoutMs, 10_000),
      }),
    };
    lane.opened.then(
      (s) => {
        lane.stream = s;
        lane.rttMs = (performance.now() - t0) / 2;
        // Said once the receiver answered; a receiver that does not start is reported by put().
        s.ready.then(
          () =>
            this.log.debug(
              `slave ${this.t.name}: WAL stream ${n} open (compress: ${formatCompress(this.t.compress)}, ${this.t.cmdStandby} --receive-wal-stream)`,
            ),
          () => undefined,
        );
      },
      () => (lane.failed = true),
    );
    return lane;
  }

  private fallBack(err: ReceiverUnavailable): void {
    if (this.fallback !== undefined) return;
    this.fallback = err.message;
    this.log.warning(
      `slave ${this.t.name}: compress: ${formatCompress(this.t.compress)} needs the WAL receiver on the slave, but ${err.message}; ` +
        `shipping uncompressed over SFTP. Fix: install this pitrtools version on the slave, or set slave_cmd_standby to its cmd_standby (or compress: none)`,
    );
  }
}

/**
 * The WAL streams of one slave under compress (core/ssh/wal-stream.ts): up to `lanes` exec
 * channels per SSH session, each pipelined, so more than one channel window (OpenSSH: 2 MiB) is
 * in flight on a long path. A stream sends before its receiver's hello (openWalStream); when the
 * receiver turns out not to start on the slave, one WARNING names slave_cmd_standby and the fix,
 * and the segments sent to it and every later one of this pool go over SFTP.
 */
import { codecFor, formatCompress, type Codec } from '@pitrtools/core/compress';
import type { SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import type { Logger } from '@pitrtools/core/log';
import type { SshSession } from '@pitrtools/core/ssh/index';
import { openWalStream, ReceiverUnavailable, type WalStream } from '@pitrtools/core/ssh/wal-stream';
import { PiecePool } from '@pitrtools/core/wire/send';

/** Queued segments the drain keeps in flight on streams (their memory is the slave's PiecePool, whatever this is). */
export const PIPELINE_AHEAD = 8;

/** Streams of one slave; `stream(session)` returns one to use, or undefined when segments must go over SFTP. */
export class WalStreamPool {
  private readonly codec: Codec | undefined;
  private pieces: PiecePool | undefined;
  private fallback: string | undefined;
  private session: SshSession | undefined;
  private opening: Promise<WalStream | undefined> | undefined;
  private opened: WalStream[] = [];

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
    return this.opened.length > 0 && this.fallback === undefined ? PIPELINE_AHEAD : 1;
  }

  /** Whether this slave ships compressed at all. */
  get active(): boolean {
    return this.codec !== undefined && this.fallback === undefined;
  }

  /** A stream on `session` with room (opening one while under `lanes`), or undefined for SFTP. Throws SshError when the connection fails. */
  async stream(session: SshSession): Promise<WalStream | undefined> {
    for (;;) {
      if (this.codec === undefined || this.fallback !== undefined) return undefined;
      if (session !== this.session) {
        this.session = session;
        this.opened = [];
      }
      this.opened = this.opened.filter((s) => s.usable);
      const idle = this.opened.find((s) => s.waiting === 0);
      if (idle) return idle;
      if (this.opening) {
        await this.opening.catch(() => undefined);
        continue;
      }
      if (this.opened.length < this.lanes) {
        this.opening = this.open(session);
        try {
          return await this.opening;
        } finally {
          this.opening = undefined;
        }
      }
      return [...this.opened].sort((a, b) => a.waiting - b.waiting)[0];
    }
  }

  /**
   * Ships `src` as `name` on `stream`: its status, or undefined when the receiver turned out not
   * to start (the stream sends before its hello: openWalStream) and the file must go over SFTP,
   * as every later one of this pool. Throws what put() throws otherwise.
   */
  async put(stream: WalStream, src: string, name: string): Promise<'created' | 'identical' | 'conflict' | undefined> {
    try {
      return await stream.put(src, name);
    } catch (err) {
      if (!(err instanceof ReceiverUnavailable)) throw err;
      this.fallBack(err);
      return undefined;
    }
  }

  /** Ends the streams (the receivers exit after their answers). */
  end(): void {
    for (const s of this.opened) s.end();
    this.opened = [];
  }

  private async open(session: SshSession): Promise<WalStream | undefined> {
    const s = await openWalStream(session, {
      cmdStandby: this.t.cmdStandby,
      dir: this.t.r_archivedir,
      pieces: (this.pieces ??= new PiecePool(this.codec!)),
      dirFsync: this.t.remoteDirFsync,
      helloTimeoutMs: Math.max(this.t.connectTimeoutMs, 10_000),
    });
    const n = this.opened.push(s);
    // Said once the receiver answered; a receiver that does not start is reported by put().
    s.ready.then(
      () =>
        this.log.debug(
          `slave ${this.t.name}: WAL stream ${n} open (compress: ${formatCompress(this.t.compress)}, ${this.t.cmdStandby} --receive-wal-stream)`,
        ),
      () => undefined,
    );
    return s;
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

/**
 * compress on the wire: cmd_archiver's end of the WAL stream, over an SSH exec channel running
 * `slave_cmd_standby --receive-wal-stream DIR` on the slave (as rsync and pgBackRest run their
 * remote side). Answers map onto the SFTP upload's results and errors, so every caller (the
 * queue drain, cmd_archiver -F, cmd_queue) treats both paths alike: stored = created,
 * same = identical, conflict = conflict; an error answer is an SshError with the SFTP code of
 * its errno (ENOSPC = SFTP_NO_SPACE, EACCES = SFTP_PERMISSION_DENIED ...).
 */
import { posix } from 'node:path';
import { PitrError } from '../errors.js';
import type { PlaceStatus } from '../fs/atomic.js';
import type { Answer } from '../wire/frame.js';
import { WalStreamSender, type PiecePool } from '../wire/send.js';
import { SshError, SshErrorCode, type SshErrorCodeValue } from './errors.js';
import type { SshSession } from './session.js';

/** The flag of cmd_standby's receiver mode (hidden from --help). */
export const RECEIVE_FLAG = '--receive-wal-stream';

/** The receiver could not start on the slave (not found, too old, another version): the caller falls back to SFTP. */
export class ReceiverUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReceiverUnavailable';
  }
}

/** Options of openWalStream. */
export interface WalStreamOptions {
  /** slave_cmd_standby. */
  cmdStandby: string;
  /** r_archivedir on the slave. */
  dir: string;
  /** The buffers pieces are read and compressed into, and the codec (shared by the streams of one slave: their memory bound). */
  pieces: PiecePool;
  /** remote_dir_fsync. */
  dirFsync: boolean;
  /** How long the receiver may take to say hello. */
  helloTimeoutMs: number;
}

/** One open stream: put() ships a local file, pipelined with the other puts. */
export interface WalStream {
  /** Ships `src` as `name`; 'created' | 'identical' | 'conflict' (PlaceStatus) as uploadAtomic; throws SshError (SFTP codes) when not stored. */
  put(src: string, name: string): Promise<PlaceStatus>;
  /** put(), and `written`: settles once the file is written to the channel (the next may follow it; WalStreamSender.send). */
  send(src: string, name: string): { written: Promise<unknown>; status: Promise<PlaceStatus> };
  /** WalStreamSender.windowWaits: what the channel took while pieces waited for its window. */
  readonly windowWaits: { ms: number; bytes: number };
  /** False once the channel died: open another. */
  readonly usable: boolean;
  /**
   * Resolves once the receiver said hello; rejects with ReceiverUnavailable when it did not start
   * (then put() rejects the same way), SshError when the connection failed first.
   */
  readonly ready: Promise<void>;
  end(): void;
}

const ERRNO: Record<string, SshErrorCodeValue> = {
  ENOSPC: SshErrorCode.SFTP_NO_SPACE,
  EDQUOT: SshErrorCode.SFTP_NO_SPACE,
  EACCES: SshErrorCode.SFTP_PERMISSION_DENIED,
  EPERM: SshErrorCode.SFTP_PERMISSION_DENIED,
  ENOENT: SshErrorCode.SFTP_NO_SUCH_FILE,
};

/**
 * Starts the receiver and returns at once, without waiting for its hello: put() may send while
 * the receiver starts (the bytes wait in the channel's window), so a cold stream costs no round
 * trip and no receiver start-up before its first bytes are on the link (over bench part wan's
 * +30 ms link the receiver's hello came ~0.3 s after the exec). A receiver that does not start
 * (not found, too old, another version, no hello within helloTimeoutMs) makes `ready` and every
 * put() reject with ReceiverUnavailable: the caller falls back to SFTP and ships those files
 * again, whole (nothing reached the slave's directory: the receiver stores a file only once its
 * SHA-256 checks, and one of another version refuses this version's frames, as frame.ts
 * requires). A local failure before the hello (a segment that cannot be read) is thrown as it
 * is, as after it. Throws SshError when the exec channel cannot be opened.
 */
export async function openWalStream(session: SshSession, o: WalStreamOptions): Promise<WalStream> {
  const argv = [o.cmdStandby, RECEIVE_FLAG, o.dir, ...(o.dirFsync ? [] : ['--no-dir-fsync'])];
  const ch = await session.openExec(argv);
  const ep = session.endpoint;
  let stderr = '';
  let exit: string | undefined;
  ch.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString('utf8');
  });
  ch.on('exit', (code: number | null, signal?: string) => {
    exit = code !== null ? `exited ${code}` : `died of ${signal ?? 'a signal'}`;
  });
  const lastLine = (): string => stderr.trim().split('\n').pop() ?? '';
  // The errors that come from the receiver's side (it ended, another version, no hello), as
  // against a local one (a segment that cannot be read) that kills the channel too.
  const receiverSide = new WeakSet<object>();
  const mark = <E extends Error>(e: E): E => (receiverSide.add(e), e);
  const sender = new WalStreamSender(
    ch,
    (why) =>
      session.closedError ??
      mark(
        new SshError(
          SshErrorCode.DISCONNECTED,
          `WAL receiver on ${ep} (${o.cmdStandby} ${RECEIVE_FLAG}): ${why}${exit ? `, ${exit}` : ''}${lastLine() ? `: ${lastLine()}` : ''}`,
          {
            endpoint: ep,
          },
        ),
      ),
  );
  let helloSeen = false;
  // What a failure before the hello means: the receiver is not there (or not ours), unless the
  // connection itself failed or the failure was ours (then that error, as after the hello).
  const unavailable = (err: unknown): unknown => {
    if (helloSeen || session.closedError) return session.closedError ?? err;
    if (!(err instanceof Error) || !receiverSide.has(err)) return err;
    const why = err.message;
    return new ReceiverUnavailable(`${o.cmdStandby} ${RECEIVE_FLAG} did not start on ${ep}: ${why.replace(/^WAL receiver on \S+ \([^)]*\): /, '')}`);
  };
  const timer = setTimeout(() => {
    // A command that neither says hello nor ends must not hold the segments sent to it.
    sender.abort(mark(new Error(`no hello within ${Math.round(o.helloTimeoutMs / 1000)}s`)));
    ch.close();
  }, o.helloTimeoutMs);
  const ready = sender.ready.then(
    () => {
      helloSeen = true;
      clearTimeout(timer);
    },
    (err: unknown) => {
      clearTimeout(timer);
      ch.close();
      throw unavailable(err);
    },
  );
  ready.catch(() => undefined);
  const send = (src: string, name: string): { written: Promise<unknown>; status: Promise<PlaceStatus> } => {
    const sent = sender.send(src, name, o.pieces);
    const status = (async () => {
      let answer;
      try {
        answer = await sent.answer;
      } catch (err) {
        // A failure from the receiver's side before its hello is its absence: ready says so
        // (ReceiverUnavailable); a local failure (the segment) is thrown as it is.
        if (!helloSeen && err instanceof Error && receiverSide.has(err)) await ready;
        throw err;
      }
      return answerStatus(answer, posix.join(o.dir, name), ep);
    })();
    return { written: sent.written, status };
  };
  return {
    get usable() {
      return sender.usable;
    },
    ready,
    end: () => sender.end(),
    get windowWaits() {
      return sender.windowWaits;
    },
    put: (src, name) => send(src, name).status,
    send,
  };
}

/** The upload status an answer means; throws for an error answer (SFTP code of its errno, or COMPRESS_CORRUPT/WIRE_PROTOCOL as sent). */
export function answerStatus(a: Answer, remotePath: string, endpoint: string): PlaceStatus {
  switch (a.status) {
    case 'stored':
      return 'created';
    case 'same':
      return 'identical';
    case 'conflict':
      return 'conflict';
    case 'error': {
      const msg = `cannot store ${remotePath} on ${endpoint}: ${a.message}`;
      if (a.code === 'COMPRESS_CORRUPT' || a.code === 'WIRE_PROTOCOL') throw new PitrError(a.code, msg);
      throw new SshError(ERRNO[a.code] ?? SshErrorCode.SFTP_FAILURE, msg, { endpoint, remotePath });
    }
  }
}

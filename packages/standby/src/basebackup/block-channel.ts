/**
 * The standby's end of one block sender (block-sender.ts): requests out, answers dispatched by
 * file id. The sender answers in order; several files may each have one request outstanding.
 * Stdout is read with backpressure (a data frame's handler finishes before the next is read), so
 * what this side holds is bounded by the frames of one batch.
 */
import type { Duplex, Readable } from 'node:stream';
import { once } from 'node:events';
import { codecFor, parseCompress, type Codec } from '@pitrtools/core/compress';
import { sftpError } from '@pitrtools/core/ssh/index';
import { PROTOCOL, FrameReader, frame, idOnly, idText, unpackEntries, type EntryAttrs, type Frame, type ListedEntry } from './block-frames.js';

/** How long the sender may take to answer its hello (a node start on a busy master takes ~1 s). */
const HELLO_MS = 30_000;

/** What the master said of a file when it opened it. */
export type Opened = { size: number; mtime: number } | 'gone';

/** A byte stream to a sender: an SSH exec channel (stderr, 'exit'), or a pipe in the unit tests. */
export type SenderStream = Duplex & { stderr?: Readable };

interface Pending {
  onFrame(f: Frame): void | Promise<void>;
  fail(e: Error): void;
  /** Answered (resolved or rejected): later frames of its answer are read and dropped. */
  settled: boolean;
  /** Its answer ends with an E frame (a batch); else it is one frame (an open). */
  untilEnd: boolean;
}
/** One running sender on the master, shared by the files of one stream. */
export class BlockChannel {
  /** Requests of each file waiting for their answers, in the order sent: the sender answers them in that order. */
  private readonly pending = new Map<number, Pending[]>();
  private readonly reader = new FrameReader();
  private failure: Error | undefined;
  private stderrTail = '';
  private exit: { code: number | null; signal: string | null } | undefined;
  private helloWait: Pending | undefined;
  private codec: Codec | undefined;
  /** Bytes both ways, frames included, per file id (see take()). */
  private readonly wire = new Map<number, number>();

  private constructor(
    private readonly stream: SenderStream,
    readonly compress: string,
  ) {
    stream.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-400);
    });
    stream.on('exit', (code: number | null, signal: string | null) => {
      this.exit = { code, signal };
    });
    void this.pump();
  }

  /** Starts talking to a sender: hello both ways. Throws when it does not answer (not installed: exit 127). */
  static async start(stream: SenderStream, compress: string): Promise<BlockChannel> {
    const spec = parseCompress(compress);
    const ch = new BlockChannel(stream, compress);
    ch.codec = spec.algo === 'none' ? undefined : codecFor(spec);
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      ch.helloWait = {
        onFrame: (f) => {
          const v = (JSON.parse(f.body.toString('utf8')) as { v?: unknown }).v;
          if (v === PROTOCOL) resolve();
          else reject(new Error(`the block sender on the master speaks protocol ${String(v)}, this cmd_standby ${PROTOCOL}: install the same version on both`));
        },
        fail: reject,
        settled: false,
        untilEnd: false,
      };
      // A command that neither answers nor ends (not a cmd_standby) must not hold -B up.
      timer = setTimeout(() => reject(new Error(`no answer within ${HELLO_MS / 1000} s`)), HELLO_MS);
      // A failed write means the sender is gone: the reader says how it ended (exit 127 and its stderr).
      void ch.send(frame('H', Buffer.from(JSON.stringify({ v: PROTOCOL, compress }), 'utf8'))).catch(() => undefined);
    })
      .catch((err: unknown) => {
        stream.destroy();
        throw err;
      })
      .finally(() => clearTimeout(timer));
    return ch;
  }

  /** The sender's exit code when it has ended (127: the shell did not find the command). */
  get exitCode(): number | null | undefined {
    return this.exit?.code;
  }

  private async pump(): Promise<void> {
    try {
      for await (const chunk of this.stream as AsyncIterable<Buffer>) {
        for (const f of this.reader.push(chunk)) await this.dispatch(f);
      }
      if (!this.exit) await Promise.race([once(this.stream, 'exit'), once(this.stream, 'close'), new Promise((r) => setTimeout(r, 200))]);
      this.die(new Error(`the block sender on the master ended${this.ended()}`));
    } catch (err) {
      if (!this.exit) await Promise.race([once(this.stream, 'exit'), new Promise((r) => setTimeout(r, 200))]);
      this.die(new Error(`the block sender on the master failed: ${err instanceof Error ? err.message : String(err)}${this.ended()}`));
    }
  }

  private ended(): string {
    const how = this.exit ? (this.exit.code !== null ? ` with exit ${this.exit.code}` : ` by signal ${this.exit.signal}`) : '';
    const last = this.stderrTail.trim().split('\n').pop();
    return `${how}${last ? `: ${last}` : ''}`;
  }

  private async dispatch(f: Frame): Promise<void> {
    if (f.type === 'H') {
      const w = this.helloWait;
      this.helloWait = undefined;
      await w?.onFrame(f);
      return;
    }
    const id = f.body.readUInt32BE(0);
    this.count(id, 5 + f.body.length);
    const queue = this.pending.get(id);
    const p = queue?.[0];
    if (!queue || !p) throw new Error(`block sender protocol: an answer for file ${f.body.readUInt32BE(0)}, which has no request`);
    if (!p.settled) await p.onFrame(f);
    if (p.untilEnd ? f.type === 'E' : p.settled) {
      queue.shift();
      if (queue.length === 0) this.pending.delete(id);
    }
  }

  private die(e: Error): void {
    this.failure ??= e;
    this.helloWait?.fail(this.failure);
    this.helloWait = undefined;
    for (const queue of this.pending.values()) for (const p of queue) if (!p.settled) p.fail(this.failure);
    this.pending.clear();
  }

  private count(id: number, n: number): void {
    this.wire.set(id, (this.wire.get(id) ?? 0) + n);
  }

  /** The bytes file `id` moved both ways so far (frames included); forgets them. */
  take(id: number): number {
    const n = this.wire.get(id) ?? 0;
    this.wire.delete(id);
    return n;
  }

  private async send(b: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(b)) await once(this.stream, 'drain');
  }

  private request<T>(
    id: number,
    b: Buffer,
    onFrame: (f: Frame, done: (v: T) => void, fail: (e: Error) => void) => void | Promise<void>,
    untilEnd = true,
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { onFrame: (f) => onFrame(f, done, fail), fail: (e) => fail(e), settled: false, untilEnd };
      function done(v: T): void {
        entry.settled = true;
        resolve(v);
      }
      function fail(e: Error): void {
        entry.settled = true;
        reject(e);
      }
      const queue = this.pending.get(id);
      if (queue) queue.push(entry);
      else this.pending.set(id, [entry]);
      this.count(id, b.length);
      this.send(b).catch(fail);
    });
  }

  /** Opens `path` on the master as file `id`: its size and mtime (s), or 'gone'. Throws the sender's message when it cannot read it. */
  open(id: number, path: string): Promise<Opened> {
    return this.request<Opened>(
      id,
      frame('O', idText(id, path)),
      (f, done, fail) => {
        if (f.type === 'S') done({ size: f.body.readDoubleBE(4), mtime: f.body.readDoubleBE(12) });
        else if (f.type === 'G') done('gone');
        else fail(new Error(f.type === 'X' ? f.body.subarray(4).toString('utf8') : `block sender protocol: ${f.type} after open`));
      },
      false,
    );
  }

  /**
   * open() and the first batch (from offset 0) in one round trip: both requests go out at once and
   * the sender answers them in order (S, G or X for the open, then D... E for the batch; a batch of
   * a file it could not open is an E alone). Resolves with what open() resolves with once the
   * batch's data has gone through `onData`. Most files of a cluster fit in one batch: they cost one
   * round trip instead of two, which decides -B's time on a long path.
   */
  openWithBatch(id: number, path: string, blocks: number, hashes: Buffer[], onData: (offset: number, data: Buffer) => void | Promise<void>): Promise<Opened> {
    let opened: Opened | undefined;
    let refused: string | undefined;
    const b = Buffer.concat([frame('O', idText(id, path)), batchFrame(id, 0, blocks, hashes)]);
    return this.request<Opened>(id, b, async (f, done, fail) => {
      if (opened === undefined && refused === undefined) {
        if (f.type === 'S') opened = { size: f.body.readDoubleBE(4), mtime: f.body.readDoubleBE(12) };
        else if (f.type === 'G') opened = 'gone';
        else if (f.type === 'X') refused = f.body.subarray(4).toString('utf8');
        else fail(new Error(`block sender protocol: ${f.type} after open`));
        return;
      }
      if (f.type === 'E') return refused !== undefined ? fail(new Error(refused)) : done(opened!);
      if (f.type === 'X') return fail(new Error(f.body.subarray(4).toString('utf8')));
      if (f.type !== 'D' || opened === 'gone' || refused !== undefined) return fail(new Error(`block sender protocol: ${f.type} in a batch`));
      try {
        await onData(f.body.readDoubleBE(4), this.unpack(f));
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** A D frame's bytes, decompressed when they were compressed. Throws when compressed data comes without compress. */
  private unpack(f: Frame): Buffer {
    const rawLen = f.body.readUInt32BE(12);
    const packed = f.body.readUInt8(16) === 1;
    const body = f.body.subarray(17);
    if (packed && !this.codec) throw new Error('block sender protocol: compressed data without compress');
    return packed ? this.codec!.decompress(body, rawLen) : body;
  }

  /**
   * Asks for `blocks` blocks of file `id` from `offset` (bytes); `hashes` are those of the local
   * copy's first blocks of the range (the rest are sent whole). `onData(offset, bytes)` gets each
   * run that differs, decompressed, and has finished before the next is read.
   */
  batch(id: number, offset: number, blocks: number, hashes: Buffer[], onData: (offset: number, data: Buffer) => void | Promise<void>): Promise<void> {
    return this.request<void>(id, batchFrame(id, offset, blocks, hashes), async (f, done, fail) => {
      if (f.type === 'E') return done();
      if (f.type === 'X') return fail(new Error(f.body.subarray(4).toString('utf8')));
      if (f.type !== 'D') return fail(new Error(`block sender protocol: ${f.type} in a batch`));
      try {
        await onData(f.body.readDoubleBE(4), this.unpack(f));
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * Lists directory `path` on the master as request `id` (L): `onEntries` gets each N frame's
   * entries and has finished before the next frame is read. Rejects as the SFTP walk would: an
   * SshError SFTP_NO_SUCH_FILE when the directory is not there, SFTP_FAILURE with the master's
   * words when it cannot be read.
   */
  list(id: number, path: string, onEntries: (entries: ListedEntry[]) => void | Promise<void>): Promise<void> {
    let failure: Error | undefined;
    return this.request<void>(id, frame('L', idText(id, path)), async (f, done, fail) => {
      if (f.type === 'E') return failure ? fail(failure) : done();
      if (failure) return;
      if (f.type === 'G') failure = sftpError('readdir', path, { code: 2 });
      else if (f.type === 'X') failure = sftpError('readdir', path, new Error(f.body.subarray(4).toString('utf8')));
      else if (f.type !== 'N') return fail(new Error(`block sender protocol: ${f.type} in a listing`));
      else {
        try {
          await onEntries(unpackEntries(f.body));
        } catch (err) {
          fail(err instanceof Error ? err : new Error(String(err)));
        }
      }
    });
  }

  /** stat(2) (`follow`) or lstat(2) of `path` on the master as request `id` (T). Rejects as list() does. */
  stat(id: number, path: string, follow: boolean): Promise<EntryAttrs> {
    const body = Buffer.concat([idOnly(id), Buffer.from([follow ? 1 : 0]), Buffer.from(path, 'utf8')]);
    const op = follow ? 'stat' : 'lstat';
    return this.request<EntryAttrs>(
      id,
      frame('T', body),
      (f, done, fail) => {
        if (f.type === 'A') done(unpackEntries(f.body)[0]!);
        else if (f.type === 'G') fail(sftpError(op, path, { code: 2 }));
        else if (f.type === 'X') fail(sftpError(op, path, new Error(f.body.subarray(4).toString('utf8'))));
        else fail(new Error(`block sender protocol: ${f.type} after a stat`));
      },
      false,
    );
  }

  /** Lets the master close file `id` (no answer). */
  async close(id: number): Promise<void> {
    const b = frame('C', idOnly(id));
    this.count(id, b.length);
    await this.send(b);
  }

  /** Ends the sender (its stdin closes, it exits). */
  end(): void {
    this.stream.end();
  }
}

/** A B frame: file `id`, `blocks` blocks from `offset` (bytes), the local copy's hashes of the first of them. */
function batchFrame(id: number, offset: number, blocks: number, hashes: Buffer[]): Buffer {
  const head = Buffer.allocUnsafe(20);
  head.writeUInt32BE(id, 0);
  head.writeDoubleBE(offset, 4);
  head.writeUInt32BE(blocks, 12);
  head.writeUInt32BE(hashes.length, 16);
  return frame('B', Buffer.concat([head, ...hashes]));
}

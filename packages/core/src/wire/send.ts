/**
 * The sender's side of the WAL stream: compresses one file at a time, writes its frame and
 * returns the receiver's answer when it comes. Several files may be in flight on one channel
 * (pipelined: no round trip per file beyond its answer), bounded by `maxInFlight` compressed
 * bytes so that memory stays bounded whatever the link's latency.
 */
import type { Codec } from '../compress.js';
import { PitrError } from '../errors.js';
import { encodeFrame, FrameReader, sha256, WIRE_VERSION, type Answer, type FileHeader, type Header } from './frame.js';

/** What the sender needs of a channel (an ssh2 exec channel is one). */
export interface StreamChannel {
  write(data: Buffer): unknown;
  on(event: 'data', fn: (d: Buffer) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
  end(): unknown;
}

/** Compressed bytes unanswered, shared by every sender of one slave, so that its lanes together stay within `max`. */
export class InFlightBudget {
  private used = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(readonly max: number) {}
  /** Waits until `n` more bytes fit (or nothing is in flight: one file bigger than `max` still goes). */
  async take(n: number, dead: () => boolean): Promise<void> {
    while (!dead() && this.used > 0 && this.used + n > this.max) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.used += n;
  }
  /** Gives `n` bytes back (an answer came, or the channel died). */
  give(n: number): void {
    this.used -= n;
    this.waiters.splice(0).forEach((w) => w());
  }
}

interface Pending {
  name: string;
  bytes: number;
  resolve(a: Answer): void;
  reject(e: unknown): void;
}

/** Pipelined sender over one channel; `fail(why)` builds the error pending sends reject with when the channel dies. */
export class WalStreamSender {
  private readonly pending: Pending[] = [];
  private dead: unknown;
  private hello: { resolve(): void; reject(e: unknown): void } | undefined;
  /** Resolves on the receiver's hello; rejects when the channel ends first, or with a receiver of another version. */
  readonly ready: Promise<void>;

  constructor(
    private readonly ch: StreamChannel,
    private readonly fail: (why: string) => Error,
    /** Compressed bytes written and not yet answered before a send waits (shared by the senders of one slave); default 4 MiB of its own. */
    private readonly budget = new InFlightBudget(4 * 1024 * 1024),
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.hello = { resolve, reject }));
    this.ready.catch(() => undefined);
    const reader = new FrameReader();
    ch.on('data', (d: Buffer) => {
      if (this.dead !== undefined) return;
      try {
        for (const f of reader.push(d)) this.onFrame(f.header);
      } catch (err) {
        this.kill(err);
        ch.end();
      }
    });
    ch.on('close', () => this.kill(this.fail(reader.pending > 0 ? 'the receiver ended inside an answer' : 'the receiver ended')));
  }

  /** Whether the channel is still usable. */
  get usable(): boolean {
    return this.dead === undefined;
  }

  /** Files sent and not yet answered. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Sends `data` as `name` compressed with `codec`; resolves with the receiver's answer; rejects when the channel dies first. */
  async send(name: string, data: Buffer, codec: Codec): Promise<Answer> {
    const payload = codec.compress(data);
    return this.sendFrame({ t: 'file', name, size: data.length, algo: codec.spec.algo, clen: payload.length, sha256: sha256(data) }, payload);
  }

  /** Sends one file frame already made (see SegmentPacker); waits while `maxInFlight` compressed bytes are unanswered. */
  async sendFrame(header: FileHeader, payload: Buffer): Promise<Answer> {
    await this.admit(payload.length);
    return this.sendAdmitted(header, payload);
  }

  /** Waits for the hello and for room for `bytes` in the budget, and takes it; throws (room given back) when the channel dies meanwhile. */
  async admit(bytes: number): Promise<void> {
    await this.ready;
    await this.budget.take(bytes, () => this.dead !== undefined);
    if (this.dead !== undefined) {
      this.budget.give(bytes);
      throw this.dead;
    }
  }

  /** Sends a frame whose bytes admit() has taken from the budget; resolves with the answer. */
  sendAdmitted(header: FileHeader, payload: Buffer): Promise<Answer> {
    if (this.dead !== undefined) {
      this.budget.give(payload.length);
      return Promise.reject(this.dead);
    }
    return new Promise<Answer>((resolve, reject) => {
      this.pending.push({ name: header.name, bytes: payload.length, resolve, reject });
      for (const b of encodeFrame(header, payload)) this.ch.write(b);
    });
  }

  /** Ends the channel (the receiver exits after the answers in flight). */
  end(): void {
    this.ch.end();
  }

  private onFrame(h: Header): void {
    if (h.t === 'hello') {
      if (h.v !== WIRE_VERSION) throw this.fail(`the receiver speaks WAL stream version ${h.v}, this cmd_archiver ${WIRE_VERSION}`);
      this.hello?.resolve();
      return;
    }
    if (h.t !== 'answer') throw new PitrError('WIRE_PROTOCOL', `WAL stream: a ${h.t} frame from the receiver`);
    const p = this.pending.shift();
    if (p === undefined || p.name !== h.name) throw new PitrError('WIRE_PROTOCOL', `WAL stream: an answer for ${h.name} where ${p?.name ?? 'none'} was due`);
    this.budget.give(p.bytes);
    p.resolve(h);
  }

  private kill(err: unknown): void {
    if (this.dead !== undefined) return;
    this.dead = err;
    this.hello?.reject(err);
    for (const p of this.pending.splice(0)) {
      this.budget.give(p.bytes);
      p.reject(err);
    }
  }
}

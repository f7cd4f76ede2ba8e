/**
 * Equal buffers handed out first come, first served, and reused: the memory bound of an SFTP
 * channel's fetches (ssh/sftp-fetch.ts) and of the WAL stream's pieces (wire/send.ts).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(b: Buffer) => void> = [];

  constructor(
    /** Bytes per buffer. */
    readonly chunk: number,
    count: number,
  ) {
    for (let i = 0; i < count; i++) this.free.push(Buffer.allocUnsafeSlow(chunk));
  }

  /** Buffers not handed out right now. */
  get available(): number {
    return this.free.length;
  }

  /** A free buffer, as soon as there is one. */
  acquire(): Promise<Buffer> {
    const b = this.free.pop();
    return b ? Promise.resolve(b) : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives a buffer back (to the longest waiter, if any). */
  release(b: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}

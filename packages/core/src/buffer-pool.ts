/**
 * Equal buffers handed out first come, first served, and reused: the memory bound of an SFTP
 * channel's fetches (ssh/sftp-fetch.ts) and of the WAL stream's pieces (wire/send.ts).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(b: Buffer) => void> = [];
  /** Buffers allocated so far: one is made when none is free, up to `count` (a pool never used costs nothing). */
  private made = 0;

  constructor(
    /** Bytes per buffer. */
    readonly chunk: number,
    private readonly count: number,
  ) {}

  /** Buffers not handed out right now. */
  get available(): number {
    return this.free.length + this.count - this.made;
  }

  /** A free buffer, as soon as there is one. */
  acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.made < this.count) {
      this.made++;
      return Promise.resolve(Buffer.allocUnsafeSlow(this.chunk));
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives a buffer back (to the longest waiter, if any). */
  release(b: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}

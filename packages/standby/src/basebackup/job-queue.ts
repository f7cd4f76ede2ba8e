/**
 * The hand-off between -B's tree walk (producer) and its copy (consumers): at most `capacity`
 * jobs are held, so memory does not grow with the number of files; the walk waits while it is
 * full. The largest job held goes out first, so big files (the long poles) start early, as
 * far as the window sees them (before, the whole list was held and sorted).
 */

/** Something with a size in bytes to order by. */
export interface Sized {
  size: number;
}

/** Where jobs are taken from; undefined once there are no more. */
export interface JobFeed<T> {
  /** The next job, waiting for one; undefined when the feed is closed and empty. */
  take(): Promise<T | undefined>;
  /** A job if one is held now, without waiting. */
  tryTake(): T | undefined;
}

/** A bounded queue of jobs, largest first. */
export class JobQueue<T extends Sized> implements JobFeed<T> {
  /** A binary max-heap by size. */
  private readonly heap: T[] = [];
  private readonly takers: Array<(j: T | undefined) => void> = [];
  private readonly pushers: Array<() => void> = [];
  private closed = false;
  private failure: unknown;
  /** The most jobs held at once (for the tests). */
  peak = 0;

  /** `capacity`: jobs held at most (>= 1). */
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`JobQueue capacity must be >= 1, got ${capacity}`);
  }

  /** Jobs held now. */
  get length(): number {
    return this.heap.length;
  }

  /** Adds a job, waiting while the queue is full; throws the abort reason after abort(), and after close(). */
  async push(job: T): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) throw new Error('JobQueue.push after close()');
      const taker = this.takers.shift();
      if (taker) return taker(job);
      if (this.heap.length < this.capacity) break;
      await new Promise<void>((resolve) => this.pushers.push(resolve));
    }
    this.heap.push(job);
    this.up(this.heap.length - 1);
    if (this.heap.length > this.peak) this.peak = this.heap.length;
  }

  tryTake(): T | undefined {
    if (this.heap.length === 0) return undefined;
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    this.pushers.shift()?.();
    return top;
  }

  take(): Promise<T | undefined> {
    const j = this.tryTake();
    if (j !== undefined || this.closed || this.failure !== undefined) return Promise.resolve(j);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** No more jobs will come: takers get what is held, then undefined. */
  close(): void {
    this.closed = true;
    for (const t of this.takers.splice(0)) t(undefined);
  }

  /** Stops both sides: waiting and later pushes throw `reason`, takers get undefined; held jobs are dropped. */
  abort(reason: unknown): void {
    this.failure ??= reason ?? new Error('JobQueue aborted');
    this.heap.length = 0;
    for (const t of this.takers.splice(0)) t(undefined);
    for (const p of this.pushers.splice(0)) p();
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.size >= h[i]!.size) return;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.size > h[m]!.size) m = l;
      if (r < h.length && h[r]!.size > h[m]!.size) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}

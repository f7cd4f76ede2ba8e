/**
 * One run per key at a time: a second caller for a key whose run is in flight waits for it and
 * shares its result instead of doing the same work again; if that run failed, it runs anew.
 * cmd_queue uses it per segment name, so a queued copy never crosses a slow link beside the
 * upload of the same segment that went on past slave_deadline.
 */

/** Runs keyed work so that the same key never runs twice at once. */
export class SharedRuns<T> {
  private readonly running = new Map<string, Promise<T>>();

  /** `fn()`, or the result of the run of `key` in flight (`shared` maps it, e.g. 'created' to 'identical'); rejects only with `fn`'s own error. */
  async run(key: string, fn: () => Promise<T>, shared: (r: T) => T = (r) => r): Promise<T> {
    const before = this.running.get(key);
    if (before) {
      const r = await before.then(
        (v) => ({ v }),
        () => undefined,
      );
      if (r !== undefined) return shared(r.v);
    }
    const p = fn();
    this.running.set(key, p);
    try {
      return await p;
    } finally {
      if (this.running.get(key) === p) this.running.delete(key);
    }
  }
}

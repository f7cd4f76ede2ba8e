/** Bounded parallelism without a dependency. */

/** Runs `fn` over `items`, at most `n` at a time. */
export async function inPool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, n), items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

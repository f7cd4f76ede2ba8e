/**
 * N workers over one shared supply of work (an upload's chunks, a file's batches): each lane
 * takes the next piece until there is none or a lane failed; every lane ends before the first
 * failure is thrown, so nothing still writes into what the caller then gives up.
 */

/** Runs `worker` on `n` lanes; stops handing out work after the first failure (`stop()` turns true), waits for all lanes, then throws that failure. */
export async function lanes(n: number, worker: (stop: () => boolean) => Promise<void>): Promise<void> {
  let failed = false;
  const results = await Promise.allSettled(
    Array.from({ length: n }, () =>
      worker(() => failed).catch((e: unknown) => {
        failed = true;
        throw e;
      }),
    ),
  );
  const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
}

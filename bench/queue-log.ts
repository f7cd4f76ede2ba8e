/** What cmd_queue's log says about itself that the benchmark reports. */
import { existsSync, readFileSync } from 'node:fs';

/** The largest "peak RSS N MiB" (or KiB, GiB: core's humanBytes) cmd_queue logged when it stopped, in kB; undefined if none. */
export function queuePeakRssKiB(logFile: string): number | undefined {
  if (!existsSync(logFile)) return undefined;
  const values = [...readFileSync(logFile, 'utf8').matchAll(/cmd_queue stopping \(.*?peak RSS ([\d.]+) (KiB|MiB|GiB)\)/g)].map(
    (m) => Number(m[1]) * { KiB: 1, MiB: 1024, GiB: 1024 ** 2 }[m[2] as 'KiB' | 'MiB' | 'GiB'],
  );
  return values.length ? Math.round(Math.max(...values)) : undefined;
}

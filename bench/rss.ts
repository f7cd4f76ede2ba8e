/**
 * Peak resident set size as GNU time reports it (`/usr/bin/time -f %M`, kB): the peak of the
 * command itself and of the children it waited for, not of helpers it left running detached.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The largest %M value in a file /usr/bin/time appended to (one line per run). */
export function maxRssKiB(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  // Lines like "Command exited with non-zero status 1" sit between the numbers: keep numbers only.
  const values = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
  return values.length ? Math.max(...values) : undefined;
}

/** Number of runs /usr/bin/time recorded in the file. */
export function rssCount(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim())).length;
}

/** argv prefix that records the peak RSS of the command into `file`. */
export function timeArgv(file: string): string[] {
  return ['/usr/bin/time', '-f', '%M', '-a', '-o', file];
}

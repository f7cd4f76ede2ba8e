/**
 * Running the programs the benchmark compares or prepares with: core's runProcess (argument
 * arrays, no shell, own process group) plus "must succeed" and "time this" on top.
 */
import { runProcess, type ProcOptions, type ProcResult } from '../packages/core/src/proc.js';

export type { ProcResult };

/** Runs argv; throws with the command and its stderr when it does not exit 0. */
export async function must(argv: readonly string[], opts: ProcOptions = {}): Promise<ProcResult> {
  const r = await runProcess(argv, { timeoutMs: 30 * 60_000, ...opts });
  if (r.code !== 0) throw new Error(`${describeFailure(argv, r)}`);
  return r;
}

/** One line saying how a command failed (exit code or signal, and the tail of its output). */
export function describeFailure(argv: readonly string[], r: ProcResult): string {
  const how = r.spawnError ? `could not start (${r.spawnError.code})` : r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  const out = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
  return `${argv.slice(0, 3).join(' ')}${argv.length > 3 ? ' ...' : ''}: ${how}${out ? `: ${out}` : ''}`;
}

/** Monotonic seconds, for timing. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Flushes every dirty page to disk, so one method's writes do not slow the next one down. */
export async function syncDisks(): Promise<void> {
  await must(['sync']);
}

/** A shell word: the value in single quotes (for archive_command strings and wrapper scripts). */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line from words, each quoted for /bin/sh when needed. */
export function shellLine(words: readonly string[]): string {
  return words.map(shq).join(' ');
}

/**
 * Processes a method leaves behind (cmd_queue, pgBackRest's async pusher, an ssh session):
 * the next method must not share the machine with them. Found by their command line naming
 * the run's own directory, so nothing else of this user is ever touched.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Leftover {
  pid: number;
  cmd: string;
}

/** Our user's processes (not this one) whose command line contains `marker`. */
export function findLeftovers(marker: string): Leftover[] {
  const uid = process.getuid?.();
  const out: Leftover[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const owner = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (uid !== undefined && owner !== uid) continue;
      if (/^State:\s+Z/m.test(status)) continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cmd.includes(marker)) out.push({ pid: Number(name), cmd });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/**
 * Waits up to `graceMs` for the processes naming `marker` to end by themselves, then SIGKILLs
 * those still there (by pid). Returns what had to be killed, for the report.
 */
export async function drainLeftovers(marker: string, graceMs = 30_000): Promise<Leftover[]> {
  const end = Date.now() + graceMs;
  for (;;) {
    const left = findLeftovers(marker);
    if (left.length === 0) return [];
    if (Date.now() > end) {
      for (const p of left) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* ended meanwhile */
        }
      }
      return left;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Where our own commands are and whether they can run yet (cmd_archiver and cmd_standby are
 * built by other work in progress): a row whose command is missing reads "not available".
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../packages/core/src/proc.js';

export const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const cmdArchiverBin = join(repoRoot, 'packages', 'archiver', 'bin', 'cmd_archiver.js');
export const cmdStandbyBin = join(repoRoot, 'packages', 'standby', 'bin', 'cmd_standby.js');
export const cmdQueueBin = join(repoRoot, 'packages', 'archiver', 'bin', 'cmd_queue.js');

const cache = new Map<string, Promise<string | undefined>>();

/** undefined when `node BIN --help` works; otherwise why the command cannot be benchmarked. */
export function unavailableReason(bin: string): Promise<string | undefined> {
  let p = cache.get(bin);
  if (!p) {
    p = (async () => {
      const rel = bin.slice(repoRoot.length + 1);
      if (!existsSync(bin)) return `${rel} does not exist yet`;
      const r = await runProcess([process.execPath, bin, '--help'], { timeoutMs: 20_000 });
      if (r.code === 0) return undefined;
      const why = (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
      return `${rel} --help failed (exit ${r.code ?? r.signal})${why ? `: ${why.slice(0, 160)}` : ''}`;
    })();
    cache.set(bin, p);
  }
  return p;
}

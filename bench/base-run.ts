/**
 * One timed base backup: set-up untimed, disks synced (so the previous method's dirty pages
 * are not written on this one's clock), the method timed, the copy checked for completeness,
 * then removed and synced again.
 */
import { makeTempDir } from '../test/rig/tmp.js';
import type { BaseMaster } from './base-master.js';
import type { BaseMethod } from './base-methods.js';
import { checkCopy } from './copy-check.js';
import { now, syncDisks } from './exec.js';
import { drainLeftovers } from './leftovers.js';
import type { RunOutcome } from './results.js';
import { maxRssKiB } from './rss.js';

/** Runs `method` once against `master`. */
export async function runBase(master: BaseMaster, method: BaseMethod): Promise<RunOutcome & { files?: number; bytes?: number }> {
  const tmp = makeTempDir(`pitr-bench-base-${method.id}-`);
  const rssFile = `${tmp.path}/rss`;
  const out: RunOutcome & { files?: number; bytes?: number } = { problems: [] };
  try {
    const prepared = await method.prepare({ dir: tmp.path, master, rssFile });
    await syncDisks();
    const t0 = now();
    await prepared.run();
    out.seconds = now() - t0;
    const check = await checkCopy(master, prepared.dest);
    out.problems.push(...check.problems);
    out.files = check.files;
    out.bytes = check.bytes;
    if (!check.problems.length) out.checked = `${master.relations.size}/${master.relations.size} relation files, sizes equal; ${check.files} files`;
    const rss = maxRssKiB(rssFile);
    if (rss !== undefined) out.rssKiB = rss;
  } catch (err) {
    out.problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    const left = await drainLeftovers(tmp.path, 10_000);
    if (left.length) out.notes = left.map((p) => `still running 10 s after the method ended, killed: ${p.pid} ${p.cmd.slice(0, 120)}`);
    await tmp.remove();
    await syncDisks();
  }
  return out;
}

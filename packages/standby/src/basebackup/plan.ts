/**
 * Walking one tree of the master (the data directory or a tablespace) over SFTP and deciding per
 * file: copy, or skip because the local copy has the same size and mtime. Local entries the master
 * does not have are removed as we go (rsync --delete), except the standby's own files. Jobs go to
 * the copy as they are found, through a bounded queue (job-queue.ts), and of a directory's listing
 * at most LIST_HOLD entries are held (dir-listing.ts): what is held does not grow with the number
 * of files, in the tree or in one directory.
 */
import { posix } from 'node:path';
import type { SftpChannel } from '@pitrtools/core/ssh/index';
import { LIST_HOLD, listRemote, type RemoteEntry } from './dir-listing.js';
import { isOwnTemp, isThisProcessTemp, keptSubdirs, type Rule } from './exclusions.js';
import { ensureDir, fsyncFiles, listLocal, localView, removePath, type LocalEntry } from './local-tree.js';

/** What the walk uses of an SFTP channel (a fake in the unit tests). */
export type WalkChannel = Pick<SftpChannel, 'readdirBatches' | 'stat' | 'lstat'>;

/** One file to copy. */
export interface FileJob {
  readonly remote: string;
  readonly local: string;
  /** Path relative to its tree, for debug output. */
  readonly rel: string;
  readonly size: number;
  /** The master's mtime, whole seconds. */
  readonly mtime: number;
}

/** A directory being walked: its paths are shared by its jobs. */
interface JobDir {
  remote: string;
  local: string;
  rel: string;
}

/**
 * A job as the walk makes it: the directory's paths by reference, its own paths built when
 * asked. Jobs wait in the queue long enough to reach V8's old generation; with three path
 * strings each they left ~300 bytes of old garbage per file (55 MB of main-thread heap at
 * 100 000 files), with these a small object.
 */
class WalkedJob implements FileJob {
  constructor(
    private readonly dir: JobDir,
    private readonly name: string,
    readonly size: number,
    readonly mtime: number,
  ) {}
  get remote(): string {
    return posix.join(this.dir.remote, this.name);
  }
  get local(): string {
    return posix.join(this.dir.local, this.name);
  }
  get rel(): string {
    return this.dir.rel === '' ? this.name : `${this.dir.rel}/${this.name}`;
  }
}

/** One tree to mirror. */
export interface TreeSpec {
  remoteRoot: string;
  localRoot: string;
  rule: (rel: string) => Rule;
  /** In the data directory: pg_tblspc/<oid> symlinks are set up by the tablespace step, not walked. */
  isTablespaceLink?: (rel: string) => boolean;
}

/** Where the walk hands jobs to copy; push waits while the copy is behind (JobQueue). */
export interface JobSink {
  push(job: FileJob): Promise<void>;
}

/** The outcome of walking trees: counts, and pg_control for the end; the jobs went to `copy`. */
export interface Plan {
  copy: JobSink;
  /** Jobs handed to `copy` and their bytes. */
  files: number;
  bytes: number;
  /** global/pg_control, copied last. */
  last: FileJob[];
  skipped: number;
  skippedBytes: number;
  /** Local entries removed because the master does not have them (or leaves them out). */
  removed: number;
  /** Temp files an interrupted run of ours left (removed, not counted in `removed`: the master dropped nothing). */
  staleTemps: number;
  /** Local files with the master's size: candidates for --checksum's content comparison. */
  sameSize: number;
  /** The most directory entries (remote and local) held at once by the walk (for the tests). */
  peakHeld?: number;
}

/** An empty plan whose jobs go to `copy`. */
export function emptyPlan(copy: JobSink): Plan {
  return { copy, files: 0, bytes: 0, last: [], skipped: 0, skippedBytes: 0, removed: 0, staleTemps: 0, sameSize: 0 };
}

// Directories listed at once: their READDIRs share the channel's pipeline, so a tree costs
// about as many round trips as it is deep, not as many as it has directories.
const LIST_PARALLEL = 8;

/** Walks `spec` into `plan`. `quick`: skip files whose size and mtime match (off with --checksum). */
export async function planTree(ch: WalkChannel, spec: TreeSpec, plan: Plan, quick: boolean, debug?: (m: string) => void): Promise<void> {
  const pending: string[] = [''];
  let active = 0;
  let failure: unknown;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (failure === undefined && active < LIST_PARALLEL && pending.length > 0) {
        const relDir = pending.pop()!;
        active++;
        visitDir(ch, spec, plan, quick, relDir, (sub) => pending.push(sub), debug)
          .catch((err: unknown) => {
            failure ??= err;
          })
          .finally(() => {
            active--;
            // After a failure, the directories in progress finish before it is reported.
            if (active > 0) pump();
            else if (failure !== undefined) reject(failure);
            else if (pending.length === 0) resolve();
            else pump();
          });
      }
    };
    pump();
  });
}

/** One directory: decide for each entry, queue subdirectories, remove what the master does not have. */
async function visitDir(
  ch: WalkChannel,
  spec: TreeSpec,
  plan: Plan,
  quick: boolean,
  relDir: string,
  queue: (rel: string) => void,
  debug?: (m: string) => void,
): Promise<void> {
  const remoteDir = relDir === '' ? spec.remoteRoot : posix.join(spec.remoteRoot, relDir);
  const localDir = relDir === '' ? spec.localRoot : posix.join(spec.localRoot, relDir);
  const dir: JobDir = { remote: remoteDir, local: localDir, rel: relDir };
  await ensureDir(localDir);
  const [listing, local] = await Promise.all([listRemote(ch, remoteDir, LIST_HOLD), localView(localDir, LIST_HOLD)]);
  plan.peakHeld = Math.max(plan.peakHeld ?? 0, listing.held + local.held);
  // Local files kept as they are: not written by this run, so fsynced here (the final pass only
  // fsyncs directories and the top level; copied files were fsynced before their rename).
  const kept: string[] = [];
  for await (const e of listing.entries()) {
    const rel = relDir === '' ? e.name : `${relDir}/${e.name}`;
    const rule = listing.unlogged(e.name) ? 'exclude' : spec.rule(rel);
    if (rule === 'ours' || rule === 'exclude') continue;
    if (spec.isTablespaceLink?.(rel) && e.isSymbolicLink) continue;
    let st: RemoteEntry = e;
    // A symlink elsewhere (pg_wal on another disk, a log directory) is copied as what it points to.
    if (e.isSymbolicLink) st = { ...(await ch.stat(posix.join(remoteDir, e.name))), name: e.name };
    const localPath = posix.join(localDir, e.name);
    const mine = await local.get(e.name);
    if (st.isDirectory) {
      if (mine && !mine.isDir && !mine.isSymlink) await removePath(localPath);
      if (rule === 'empty-dir') await emptyDir(localPath, keptSubdirs(rel), plan);
      else queue(rel);
    } else if (st.isFile) {
      if (rule === 'keep-local' && mine) {
        if (mine.isFile) kept.push(localPath);
        continue;
      }
      const job = new WalkedJob(dir, e.name, st.size, st.mtime);
      if (rule === 'last') plan.last.push(job);
      else if (quick && unchanged(mine, job)) {
        plan.skipped++;
        plan.skippedBytes += job.size;
        kept.push(localPath);
        if (kept.length >= LIST_HOLD) await fsyncFiles(kept.splice(0));
      } else {
        if (mine?.isFile && mine.size === job.size) plan.sameSize++;
        plan.files++;
        plan.bytes += job.size;
        await plan.copy.push(job);
      }
    }
  }
  // Local entries the master does not have, or has but leaves out (excluded, unlogged forks).
  for await (const [name, entry] of local.before()) {
    const rule = spec.rule(relDir === '' ? name : `${relDir}/${name}`);
    if (rule === 'ours' || rule === 'keep-local') continue;
    if (rule !== 'exclude' && !listing.unlogged(name) && (await listing.has(name))) continue;
    // A big directory is read again here, while this run's copy writes into it: its temps are live.
    if (!entry.isDir && isThisProcessTemp(name)) continue;
    const stale = !entry.isDir && isOwnTemp(name);
    debug?.(`removing ${posix.join(localDir, name)}${entry.isDir ? '/' : ''} (${stale ? 'a temp file an interrupted -B left' : 'not on the master'})`);
    await removePath(posix.join(localDir, name));
    if (stale) plan.staleTemps++;
    else plan.removed++;
  }
  await fsyncFiles(kept);
}

function unchanged(mine: LocalEntry | undefined, job: FileJob): boolean {
  return mine !== undefined && mine.isFile && mine.size === job.size && mine.mtime === job.mtime;
}

/** Makes `dir` exist and hold nothing but the (empty) `keep` subdirectories. */
async function emptyDir(dir: string, keep: string[], plan: Plan): Promise<void> {
  await ensureDir(dir);
  for (const [name, entry] of await listLocal(dir)) {
    if (keep.includes(name) && entry.isDir) continue;
    await removePath(posix.join(dir, name));
    plan.removed++;
  }
  for (const k of keep) await emptyDir(posix.join(dir, k), [], plan);
}

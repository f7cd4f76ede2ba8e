/**
 * The WAL receiver's files: archivedir/.receivewal holds what pg_receivewal writes (the segment in
 * progress as NAME.partial, the newest complete one, history files), the supervisor's pid file and
 * its log. Complete files are added to archivedir by link(2), which never replaces a name: the same
 * bytes already there (cmd_archiver was first) are fine, different bytes are a conflict that is
 * reported and left alone, as cmd_archiver's own rule says.
 */
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { errorCode } from '@pitrtools/core/errors';
import { copyFileAtomic, copyFileNoClobber, fsyncDir, sameContent } from '@pitrtools/core/fs/atomic';
import { compareWalNames, walKind } from '@pitrtools/core/wal';

/** Directory of pg_receivewal's files, inside archivedir (same filesystem: link(2) works). */
export function receiveDir(config: StandbyConfig): string {
  return join(config.archivedir, '.receivewal');
}

/** The supervisor's pid file and log. */
export function receiverFiles(config: StandbyConfig): { pid: string; log: string } {
  const d = receiveDir(config);
  return { pid: join(d, 'supervisor.pid'), log: join(d, 'receivewal.log') };
}

/** The slot: wal_receiver_slot, else pitrtools_recv_<host> (slot names allow [a-z0-9_], 63 bytes). */
export function receiverSlot(config: StandbyConfig): string {
  if (config.wal_receiver_slot !== undefined) return config.wal_receiver_slot;
  const host = hostname()
    .split('.')[0]!
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  return `pitrtools_recv_${host}`.slice(0, 63);
}

/** What one pass of moveComplete did. */
export interface MoveResult {
  added: string[];
  identical: string[];
  conflicts: string[];
}

/**
 * Adds every complete segment and history file of `recv` to `archivedir` without replacing
 * anything, then keeps only the newest complete segment in `recv` (pg_receivewal resumes after it).
 */
export async function moveComplete(recv: string, archivedir: string, known: ReadonlySet<string> = new Set()): Promise<MoveResult> {
  const r: MoveResult = { added: [], identical: [], conflicts: [] };
  const names = (await fsp.readdir(recv)).filter((n) => walKind(n) === 'segment' || walKind(n) === 'history').sort(compareWalNames);
  const newestSegment = names.filter((n) => walKind(n) === 'segment').pop();
  let linked = false;
  for (const n of names) {
    const status = await placeNoClobber(join(recv, n), archivedir, n);
    if (status === 'conflict') {
      if (!known.has(n)) r.conflicts.push(n);
      continue;
    }
    if (status === 'created') {
      r.added.push(n);
      linked = true;
    } else r.identical.push(n);
    if (n !== newestSegment) await fsp.rm(join(recv, n), { force: true });
  }
  if (linked) await fsyncDir(archivedir);
  return r;
}

// link(2) where it can (the same file, no copy), a durable no-clobber copy across filesystems.
async function placeNoClobber(src: string, dir: string, name: string): Promise<'created' | 'identical' | 'conflict'> {
  try {
    await fsp.link(src, join(dir, name));
    return 'created';
  } catch (err) {
    if (errorCode(err) === 'EXDEV') return copyFileNoClobber(src, dir, name);
    if (errorCode(err) !== 'EEXIST') throw err;
    return (await sameContent(src, join(dir, name))) ? 'identical' : 'conflict';
  }
}

/**
 * For -F999 and -R: puts the segment pg_receivewal was still writing into pg_wal under its full
 * name, unless archivedir or pg_wal already has that segment. PostgreSQL reads pg_wal after the
 * archive, replays up to the last complete record and ends recovery there. Returns its name.
 */
export async function placePartial(config: StandbyConfig): Promise<string | undefined> {
  const recv = receiveDir(config);
  const partials = (await fsp.readdir(recv).catch(() => [] as string[])).filter((n) => walKind(n) === 'partial').sort(compareWalNames);
  const newest = partials.pop();
  if (newest === undefined) return undefined;
  const name = newest.slice(0, -'.partial'.length);
  const exists = (p: string): Promise<boolean> =>
    fsp.stat(p).then(
      () => true,
      () => false,
    );
  if ((await exists(join(config.archivedir, name))) || (await exists(join(config.pgdata, 'pg_wal', name)))) return undefined;
  await copyFileAtomic(join(recv, newest), join(config.pgdata, 'pg_wal', name));
  return name;
}

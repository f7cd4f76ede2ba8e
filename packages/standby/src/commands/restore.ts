/**
 * `--restore %f %p`, our restore_command: copies archivedir/%f to %p (relative to the data
 * directory, PostgreSQL's working directory) through a fsynced temp file and a rename, so the
 * server never reads a half-written segment. A file that is not there is the normal answer to
 * PostgreSQL's constant probing for .history files and for the next segment: exit 1, silently.
 * A file that is there but incomplete (a segment of the wrong size, a .history PostgreSQL cannot
 * parse) is refused the same way, so PostgreSQL asks again later, and said on stderr (it lands
 * in the server log); after REJECTS_BEFORE_ALERT refusals of the same file, notify_critical.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { PitrError, errorCode } from '@pitrtools/core/errors';
import { walKind } from '@pitrtools/core/wal';
import { diskProblem } from '../local/disk-errors.js';
import { historyProblem, LONG_HEADER_BYTES, segmentProblem } from '../recovery/wal-file-check.js';
import { nodeRestoreFs } from '../restore/node-fs.js';
import type { RestoreFs } from '../restore/ports.js';
import { REJECTED_STATE } from '../state-files.js';

/** Options of restoreWal. */
export interface RestoreOptions {
  archivedir: string;
  pgdata: string;
  /** %f: the archived file PostgreSQL wants. */
  file: string;
  /** %p: where to put it, relative to `cwd` (PostgreSQL runs the command in the data directory). */
  dest: string;
  cwd?: string;
}

/** Refusals of the same file after which the restore helper raises notify_critical (once per file). */
export const REJECTS_BEFORE_ALERT = 3;

/** A file refused: why, and how many times in a row this file has been refused (1 = the first). */
export interface Rejected {
  rejected: string;
  times: number;
}

/**
 * 'restored'; 'missing' when archivedir does not have it (yet); or a Rejected when what is there
 * is not a complete file (nothing is written to %p then, and nothing recorded as restored).
 * `fs` is the disk (a fake in unit tests). Throws BAD_WAL_NAME (exit 2) for a name PostgreSQL never asks for, DIR_NOT_PRIVATE (exit 2)
 * when archivedir is not ours or others can write in it, and I/O errors as they come.
 */
export async function restoreWal(o: RestoreOptions, fs: RestoreFs = nodeRestoreFs): Promise<'restored' | 'missing' | Rejected> {
  const kind = walKind(o.file);
  if (kind === undefined) {
    throw new PitrError('BAD_WAL_NAME', `refusing to restore '${o.file}': not a WAL file name PostgreSQL archives`);
  }
  // Whoever can write in archivedir chooses the WAL we replay: refused (exit 2) unless it is ours.
  if (!(await fs.ownDir(o.archivedir, 'archivedir'))) return 'missing';
  const src = join(o.archivedir, o.file);
  const dest = isAbsolute(o.dest) ? o.dest : resolve(o.cwd ?? process.cwd(), o.dest);
  let inspected;
  try {
    inspected = await inspect(fs, src, o.file, kind, o.pgdata);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'missing';
    throw diskError(err, o.file, src, dest);
  }
  if (inspected.problem !== undefined) return { rejected: inspected.problem, times: await noteRejected(fs, o.pgdata, o.file) };
  try {
    await fs.copyAtomic(src, dest);
  } catch (err) {
    throw diskError(err, o.file, src, dest);
  }
  const copied = await fs.size(dest);
  if (copied !== inspected.size) {
    await fs.remove(dest);
    return { rejected: `it changed size while being copied (${inspected.size} -> ${copied} bytes)`, times: await noteRejected(fs, o.pgdata, o.file) };
  }
  await clearRejected(fs, o.pgdata, o.file);
  // Remembered for --check: the newest restored segment and (as the file's mtime) when.
  if (kind === 'segment') await fs.recordRestored(o.pgdata, o.file);
  return 'restored';
}

/** RESTORE_IO_FAILED (exit 1): reading `src` or writing `dest` failed; the errno in words (local/disk-errors.ts), which side, and that nothing was restored. */
function diskError(err: unknown, file: string, src: string, dest: string): PitrError {
  const p = (err as { path?: unknown }).path;
  const reading = p === src;
  const [why, hint, code] = diskProblem(err, reading ? 'archivedir' : "the server's pg_wal", reading ? src : dest);
  return new PitrError(
    'RESTORE_IO_FAILED',
    `cannot restore ${file}: ${reading ? `reading ${src}` : `writing ${dest}`} failed: ${why}${code ? ` (${code})` : ''}; nothing was restored, PostgreSQL asks again`,
    { hint, cause: err },
  );
}

/** Size of the file and, when it cannot be what PostgreSQL asked for, why. */
async function inspect(fs: RestoreFs, src: string, name: string, kind: string, pgdata: string): Promise<{ size: number; problem?: string }> {
  if (kind === 'history') {
    const text = await fs.readText(src);
    const problem = historyProblem(name, text);
    return { size: Buffer.byteLength(text), ...(problem !== undefined ? { problem } : {}) };
  }
  if (kind !== 'segment') return { size: await fs.size(src) };
  const { size, head } = await fs.readHead(src, LONG_HEADER_BYTES);
  const problem = segmentProblem(name, size, head, await fs.systemIdentifier(pgdata));
  return { size, ...(problem !== undefined ? { problem } : {}) };
}

// REJECTED_STATE holds one `<name> <count>` line per file refused since it was last restored: the
// startup process alternates between the segment it waits for and .history probes, so the count
// is per name. Bounded: the oldest lines go first.
const MAX_REJECTED_NAMES = 32;

async function readRejected(fs: RestoreFs, pgdata: string): Promise<Map<string, number>> {
  const text = await fs.readOptional(join(pgdata, REJECTED_STATE));
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, n] = line.split(' ');
    if (name && walKind(name) !== undefined) m.set(name, Number(n) || 0);
  }
  return m;
}

async function writeRejected(fs: RestoreFs, pgdata: string, m: Map<string, number>): Promise<void> {
  const path = join(pgdata, REJECTED_STATE);
  if (m.size === 0) await fs.remove(path);
  else
    await fs.writeAtomic(
      path,
      [...m]
        .slice(-MAX_REJECTED_NAMES)
        .map(([k, v]) => `${k} ${v}\n`)
        .join(''),
    );
}

async function noteRejected(fs: RestoreFs, pgdata: string, name: string): Promise<number> {
  const m = await readRejected(fs, pgdata);
  const times = (m.get(name) ?? 0) + 1;
  m.delete(name);
  m.set(name, times);
  await writeRejected(fs, pgdata, m).catch(() => undefined);
  return times;
}

async function clearRejected(fs: RestoreFs, pgdata: string, name: string): Promise<void> {
  const m = await readRejected(fs, pgdata);
  if (m.delete(name)) await writeRejected(fs, pgdata, m);
}

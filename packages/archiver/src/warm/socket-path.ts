/**
 * Where cmd_queue listens. In l_archivedir (private to the database user since -I) when the path
 * fits a unix socket address (about 100 bytes is portable); otherwise in a 0700 directory of
 * this user under $XDG_RUNTIME_DIR or /tmp, named after a hash of l_archivedir. A directory
 * anybody else could write to is never trusted: whoever answers on the socket decides whether
 * PostgreSQL deletes WAL.
 */
import { promises as fsp } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ownDirProblem, requireOwnDir } from '@pitrtools/core/fs/ownership';

/** Socket file name inside l_archivedir. */
export const SOCKET_NAME = '.cmd_queue.sock';
/** Longest socket path used as is (sun_path holds 108 bytes on Linux, 104 on the BSDs). */
export const MAX_SOCKET_PATH = 100;

/** The socket of the cmd_queue serving `lArchivedir`, and the directory that must be private. */
export function socketPlace(
  lArchivedir: string,
  env: NodeJS.ProcessEnv = process.env,
  uid: number = process.getuid?.() ?? 0,
): { dir: string; path: string; ownDir: boolean } {
  const direct = join(lArchivedir, SOCKET_NAME);
  if (Buffer.byteLength(direct) <= MAX_SOCKET_PATH) return { dir: lArchivedir, path: direct, ownDir: false };
  const xdg = env.XDG_RUNTIME_DIR;
  const dir = xdg && isAbsolute(xdg) ? join(xdg, 'pitrtools') : `/tmp/pitrtools-${uid}`;
  const name = `${fnv1a64(lArchivedir)}.sock`;
  return { dir, path: join(dir, name), ownDir: true };
}

// A name, not a secret: FNV-1a keeps node:crypto out of the per-segment process. A collision
// would only make a client reach another daemon, which refuses it (it serves another ini).
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

/** Why `dir` cannot be trusted to hold our socket (not ours, writable by others, a link), or undefined. */
export async function privateDirProblem(dir: string, uid: number = process.geteuid?.() ?? 0): Promise<string | undefined> {
  const p = await ownDirProblem(dir, uid);
  if (p === 'missing') return `${dir}: ENOENT`;
  return p === undefined ? undefined : `${dir} ${p.problem}`;
}

/** Creates the per-user socket directory 0700 if needed and checks it; throws when it cannot be trusted. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await requireOwnDir(dir, 'the cmd_queue socket directory', `mkdir -m 0700 ${dir}`);
}

/** The restore helper's RestoreFs on node:fs (the only file of the restore path that touches the disk). */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { copyFileAtomic, writeFileAtomic } from '@pitrtools/core/fs/atomic';
import { checkOwnDir } from '@pitrtools/core/fs/ownership';
import { recordRestored } from '../local/files.js';
import type { FileHead, RestoreFs } from './ports.js';

async function readHead(path: string, bytes: number): Promise<FileHead> {
  const fh = await fsp.open(path, 'r');
  try {
    const head = Buffer.alloc(bytes);
    const size = (await fh.stat()).size;
    await fh.read(head, 0, bytes, 0);
    return { size, head };
  } finally {
    await fh.close();
  }
}

/** pg_control's system_identifier (its first field, 8 bytes in the machine's byte order), if readable. */
async function systemIdentifier(pgdata: string): Promise<bigint | undefined> {
  try {
    const { size, head } = await readHead(join(pgdata, 'global', 'pg_control'), 8);
    return size >= 8 ? head.readBigUInt64LE(0) : undefined;
  } catch {
    return undefined;
  }
}

/** The real file system. */
export const nodeRestoreFs: RestoreFs = {
  ownDir: (dir, what) => checkOwnDir(dir, what),
  readText: (path) => fsp.readFile(path, 'utf8'),
  readHead,
  size: async (path) => (await fsp.stat(path)).size,
  copyAtomic: copyFileAtomic,
  remove: (path) => fsp.rm(path, { force: true }),
  writeAtomic: (path, text) => writeFileAtomic(path, text),
  readOptional: (path) => fsp.readFile(path, 'utf8').catch(() => ''),
  systemIdentifier,
  recordRestored,
};

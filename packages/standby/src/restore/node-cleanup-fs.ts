/** The cleanup helper's CleanupFs on node:fs. */
import { promises as fsp } from 'node:fs';
import { errorCode } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';
import { checkOwnDir } from '@pitrtools/core/fs/ownership';
import type { CleanupFs } from './ports.js';

/** The real file system for cleanup. */
export const nodeCleanupFs: CleanupFs = {
  ownDir: (dir, what) => checkOwnDir(dir, what),
  list: (dir) => fsp.readdir(dir),
  unlink: (path) =>
    fsp.unlink(path).catch((err: unknown) => {
      if (errorCode(err) !== 'ENOENT') throw err;
    }),
  fsyncDir,
};

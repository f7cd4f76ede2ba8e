/** PlaceFs over node:fs: the receiver's real file system. */
import { promises as fsp } from 'node:fs';
import { fsyncDir, fsyncFile } from '../fs/atomic.js';
import { CREATE_NEW } from '../fs/ownership.js';
import type { PlaceFs } from './place.js';

/** The local file system for placeFile. */
export const nodePlaceFs: PlaceFs = {
  create: async (path, mode) => {
    const fh = await fsp.open(path, CREATE_NEW, mode);
    return {
      write: async (data) => {
        await fh.writeFile(data);
      },
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
  },
  link: (a, b) => fsp.link(a, b),
  unlink: (p) => fsp.unlink(p),
  lstat: async (p) => {
    try {
      const st = await fsp.lstat(p);
      return { isFile: st.isFile(), size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  readFile: (p) => fsp.readFile(p),
  fsyncFile,
  fsyncDir,
};

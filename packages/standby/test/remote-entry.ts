/** A listing entry as the master's SFTP readdir gives it, for the -B walk's tests. */
import type { RemoteDirEntry } from '@pitrtools/core/ssh/index';

/** An 8 KiB file (or a directory) of the master, 0600 (0700), with a fixed mtime. */
export function remoteEntry(name: string, isDirectory = false): RemoteDirEntry {
  return {
    name,
    size: 8192,
    mode: isDirectory ? 0o40700 : 0o100600,
    uid: 1,
    gid: 1,
    mtime: 1_764_500_000,
    atime: 1_764_500_000,
    isFile: !isDirectory,
    isDirectory,
    isSymbolicLink: false,
  } as RemoteDirEntry;
}

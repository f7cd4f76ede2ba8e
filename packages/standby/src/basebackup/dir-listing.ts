/**
 * A remote directory's listing for -B's walk, holding at most `hold` entries whatever the
 * directory holds (base/<db> of a master with 100 000 tables is one directory). The whole
 * listing must be read before any entry is decided, since an `_init` fork anywhere in it
 * excludes its relation's other forks (PostgreSQL's basebackup.c does the same); so a directory
 * bigger than `hold` is read twice: once for the init forks (and the first `hold` entries),
 * then again for the rest. A directory within `hold` is read once, as before.
 */
import type { RemoteDirEntry, RemoteStat, SftpChannel } from '@pitrtools/core/ssh/index';
import { SshErrorCode, isSshError } from '@pitrtools/core/ssh/index';

/** Entries of one directory listing held at most (each about 100 bytes). */
export const LIST_HOLD = 1000;

/** What the walk keeps of one remote entry. */
export interface RemoteEntry {
  name: string;
  size: number;
  mtime: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
}

/** One directory of the master, as the walk reads it. */
export interface RemoteListing {
  /** Entries held in memory (at most `hold`). */
  readonly held: number;
  /** Whether `name` is a fork of an unlogged relation other than its init fork (left out, as pg_basebackup does). */
  unlogged(name: string): boolean;
  /** Every entry once: the held ones, then (a big directory) the rest from a second read. */
  entries(): AsyncIterable<RemoteEntry>;
  /** Whether the master has `name` there (a big directory: asked with lstat). */
  has(name: string): Promise<boolean>;
}

type ListChannel = Pick<SftpChannel, 'readdirBatches' | 'lstat'>;

const INIT_FORK = /^(\d+)_init$/;
const FORK = /^(\d+)(?:_(?:fsm|vm))?(?:\.\d+)?$/;

// The small form: ssh2's own entries (long names, attribute objects) are several times bigger.
function compact(e: RemoteDirEntry): RemoteEntry {
  return { name: e.name, size: e.size, mtime: e.mtime, isFile: e.isFile, isDirectory: e.isDirectory, isSymbolicLink: e.isSymbolicLink };
}

/** Reads `dir` once, keeping the first `hold` entries and every init fork's relation number. Throws what readdir throws. */
export async function listRemote(ch: ListChannel, dir: string, hold: number = LIST_HOLD): Promise<RemoteListing> {
  let held: RemoteEntry[] = [];
  let big = false;
  // Relation numbers with an init fork: as many as the directory's unlogged relations.
  const inits = new Set<string>();
  for await (const batch of ch.readdirBatches(dir)) {
    for (const e of batch) {
      const m = INIT_FORK.exec(e.name);
      if (m) inits.add(m[1]!);
      if (held.length < hold) held.push(compact(e));
      else big = true;
    }
  }
  const heldNames = big ? new Set(held.map((e) => e.name)) : undefined;
  const count = held.length;
  let names: Set<string> | undefined;
  return {
    held: count,
    unlogged(name) {
      if (inits.size === 0) return false;
      const m = FORK.exec(name);
      return m !== null && inits.has(m[1]!);
    },
    async *entries() {
      const first = held;
      if (!big) names = new Set(first.map((e) => e.name)); // for has(): the listing is complete
      held = [];
      yield* first;
      if (!big) return;
      for await (const batch of ch.readdirBatches(dir)) {
        for (const e of batch) if (!heldNames!.has(e.name)) yield compact(e);
      }
    },
    async has(name) {
      if (names) return names.has(name);
      return ch.lstat(`${dir}/${name}`).then(
        (_: RemoteStat) => true,
        (err: unknown) => {
          if (isSshError(err, SshErrorCode.SFTP_NO_SUCH_FILE)) return false;
          throw err;
        },
      );
    },
  };
}

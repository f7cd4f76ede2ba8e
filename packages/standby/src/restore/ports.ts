/**
 * What the restore helper (--restore %f %p) needs from the outside world, as one small interface,
 * so its decisions (missing, refused, restored; what is written and what is not after an I/O
 * error) are unit-tested with a fake archivedir that fails where a test wants (test/restore-fakes.ts).
 * The real one is restore/node-fs.ts.
 */

/** The first bytes of a file and its size, read from one open file. */
export interface FileHead {
  size: number;
  head: Buffer;
}

/** Local file operations of the restore helper. Errors are Node's (err.code 'ENOENT', 'EIO' ...). */
export interface RestoreFs {
  /** checkOwnDir: false when `dir` is missing; throws DIR_NOT_PRIVATE when it is not ours alone. */
  ownDir(dir: string, what: string): Promise<boolean>;
  /** The whole file as UTF-8 (a .history file). */
  readText(path: string): Promise<string>;
  /** Size and the first `bytes` bytes (fewer when the file is shorter: the rest stays zero). */
  readHead(path: string, bytes: number): Promise<FileHead>;
  /** Size in bytes. */
  size(path: string): Promise<number>;
  /** Copies `src` to `dest` durably (temp name, fsync, rename, fsync of the directory). */
  copyAtomic(src: string, dest: string): Promise<void>;
  /** Removes `path`; nothing when it is not there. */
  remove(path: string): Promise<void>;
  /** Replaces `path` with `text` durably. */
  writeAtomic(path: string, text: string): Promise<void>;
  /** Reads `path`, or '' when it cannot be read (the refusal counts are best effort). */
  readOptional(path: string): Promise<string>;
  /** pg_control's system_identifier, or undefined when it cannot be read. */
  systemIdentifier(pgdata: string): Promise<bigint | undefined>;
  /** Remembers the newest restored segment for --check (best effort). */
  recordRestored(pgdata: string, segment: string): Promise<void>;
}

/** Local file operations of the cleanup helper (--cleanup %r, and the catalogue's WAL pruning). */
export interface CleanupFs {
  /** checkOwnDir: throws DIR_NOT_PRIVATE when `dir` is not ours alone. */
  ownDir(dir: string, what: string): Promise<boolean>;
  /** Names in `dir`. */
  list(dir: string): Promise<string[]>;
  /** Removes `path`; nothing when it is already gone. */
  unlink(path: string): Promise<void>;
  /** fsync(2) of a directory, so removals in it survive a crash. */
  fsyncDir(dir: string): Promise<void>;
}

/** An in-memory RestoreFs: archivedir and pgdata as a map, with switches to fail where a test wants. */
import { dirname } from 'node:path';
import type { CleanupFs, FileHead, RestoreFs } from '../src/restore/ports.js';

/** A fake file: its size and its first bytes (a 16 MiB segment need not be held in memory). */
export interface MemFile {
  size: number;
  head: Buffer;
}

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

/** Files by absolute path; every read of a file under `archivedir` is counted (1-based). */
export class MemRestoreFs implements RestoreFs {
  files = new Map<string, MemFile>();
  ownDirs = new Set<string>();
  /** Reads of archived files so far. */
  archiveReads = 0;
  /** The n-th read of an archived file throws EIO (a failing disk). */
  failArchiveReadAt: number | undefined;
  /** The next copy throws this errno code (ENOSPC, EIO) and writes nothing. */
  failCopyWith: string | undefined;
  /** The next copy writes this many bytes fewer than the source has (the file changed under us). */
  shrinkOnCopy = 0;
  /** Segments recorded as restored, in order. */
  restored: string[] = [];

  constructor(
    readonly archivedir: string,
    readonly sysid?: bigint,
  ) {
    this.ownDirs.add(archivedir);
  }

  put(path: string, file: MemFile): void {
    this.files.set(path, file);
  }
  text(path: string): string | undefined {
    const f = this.files.get(path);
    return f && f.head.toString('utf8');
  }

  private read(path: string, syscall: string): MemFile {
    if (dirname(path) === this.archivedir && ++this.archiveReads === this.failArchiveReadAt) throw errno('EIO', syscall, path);
    const f = this.files.get(path);
    if (!f) throw errno('ENOENT', syscall, path);
    return f;
  }

  async ownDir(dir: string): Promise<boolean> {
    return this.ownDirs.has(dir);
  }
  async readText(path: string): Promise<string> {
    return this.read(path, 'read').head.toString('utf8');
  }
  async readHead(path: string, bytes: number): Promise<FileHead> {
    const f = this.read(path, 'read');
    const head = Buffer.alloc(bytes);
    f.head.copy(head, 0, 0, Math.min(bytes, f.head.length, f.size));
    return { size: f.size, head };
  }
  async size(path: string): Promise<number> {
    return this.read(path, 'stat').size;
  }
  async copyAtomic(src: string, dest: string): Promise<void> {
    const f = this.read(src, 'copyfile');
    if (this.failCopyWith !== undefined) {
      const c = this.failCopyWith;
      this.failCopyWith = undefined;
      throw errno(c, 'write', dest);
    }
    this.files.set(dest, { size: f.size - this.shrinkOnCopy, head: f.head });
    this.shrinkOnCopy = 0;
  }
  async remove(path: string): Promise<void> {
    this.files.delete(path);
  }
  async writeAtomic(path: string, text: string): Promise<void> {
    this.files.set(path, { size: Buffer.byteLength(text), head: Buffer.from(text) });
  }
  async readOptional(path: string): Promise<string> {
    return this.files.get(path)?.head.toString('utf8') ?? '';
  }
  async systemIdentifier(): Promise<bigint | undefined> {
    return this.sysid;
  }
  async recordRestored(_pgdata: string, segment: string): Promise<void> {
    this.restored.push(segment);
  }
}

/** An in-memory CleanupFs: one directory's names; the n-th unlink throws EIO; fsyncs are recorded. */
export class MemCleanupFs implements CleanupFs {
  names: Set<string>;
  unlinks = 0;
  failUnlinkAt: number | undefined;
  /** Names present at each fsync of the directory (what a crash after it would keep). */
  synced: string[][] = [];
  constructor(
    readonly dir: string,
    names: readonly string[],
  ) {
    this.names = new Set(names);
  }
  async ownDir(): Promise<boolean> {
    return true;
  }
  async list(): Promise<string[]> {
    return [...this.names];
  }
  async unlink(path: string): Promise<void> {
    if (++this.unlinks === this.failUnlinkAt) throw errno('EIO', 'unlink', path);
    this.names.delete(path.slice(this.dir.length + 1));
  }
  async fsyncDir(): Promise<void> {
    this.synced.push([...this.names].sort());
  }
}

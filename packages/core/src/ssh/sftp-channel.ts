/**
 * One SFTP channel with promise-returning primitives. Every failure becomes an SshError that
 * names the operation and the remote path; every call fails fast once the channel or the
 * connection is gone (see liveness.ts).
 */
import type { Attributes, SFTPWrapper } from 'ssh2';
import { SshError, SshErrorCode, sftpError } from './errors.js';
import type { Liveness } from './liveness.js';

/** What stat/readdir report about a remote file. */
export interface RemoteStat {
  size: number;
  /** Permission bits and file type, as st_mode. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (SFTP v3 carries whole seconds). */
  mtime: number;
  atime: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
}

/** What statvfs@openssh.com reports about a remote filesystem: bytes and inodes free to a non-root user. */
export interface RemoteFsStat {
  bytesAvailable: number;
  inodesAvailable: number;
}

/** One directory entry with its attributes. */
export interface RemoteDirEntry extends RemoteStat {
  name: string;
}

const S_IFMT = 0o170000;
/** A RemoteStat from stat(2)'s fields as SFTP carries them (ssh2's Attributes, or -B's block sender listing the same fields): the type from st_mode. */
export function toStat(a: Pick<Attributes, 'mode' | 'size' | 'uid' | 'gid' | 'mtime' | 'atime'>): RemoteStat {
  const type = a.mode & S_IFMT;
  return {
    size: a.size,
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    mtime: a.mtime,
    atime: a.atime,
    isFile: type === 0o100000,
    isDirectory: type === 0o040000,
    isSymbolicLink: type === 0o120000,
  };
}

// ssh2 keeps these in underscored fields; they reflect limits@openssh.com when the server
// sends it (OpenSSH: 255 KiB). Requests up to this size go out as one SFTP packet, which is
// what lets us keep several large requests in flight instead of ssh2 splitting them serially.
interface Ssh2SftpInternals {
  _extensions?: Record<string, string>;
  _maxWriteLen?: number;
  _maxReadLen?: number;
}

/** A live SFTP channel: primitives used by upload, download and the file helpers. */
export class SftpChannel {
  constructor(
    readonly raw: SFTPWrapper,
    readonly live: Liveness,
    /** `user@host:port`, for messages. */
    readonly endpoint: string,
  ) {}

  /** Extensions the server advertised in its VERSION packet (name → version string). */
  extensions(): Record<string, string> {
    return { ...((this.raw as unknown as Ssh2SftpInternals)._extensions ?? {}) };
  }

  /** Whether the server advertised an OpenSSH extension such as `hardlink@openssh.com`. */
  has(ext: string): boolean {
    return this.extensions()[ext] !== undefined;
  }

  /** Largest data length one WRITE request carries. */
  get maxWrite(): number {
    const n = (this.raw as unknown as Ssh2SftpInternals)._maxWriteLen;
    return typeof n === 'number' && n > 0 ? n : 32 * 1024;
  }

  /** Largest data length one READ request asks for. */
  get maxRead(): number {
    const n = (this.raw as unknown as Ssh2SftpInternals)._maxReadLen;
    return typeof n === 'number' && n > 0 ? n : 32 * 1024;
  }

  private op<T>(name: string, path: string, start: (cb: (err: unknown, v?: T) => void) => void): Promise<T> {
    return this.live.call<T>(start).catch((err: unknown) => {
      throw sftpError(name, path, err, this.endpoint);
    });
  }

  /** Opens a remote file; flags as in ssh2 ('r', 'wx', ...), mode applied on creation. */
  open(path: string, flags: string, mode?: number): Promise<Buffer> {
    return this.op('open', path, (cb) => (mode === undefined ? this.raw.open(path, flags as 'r', cb) : this.raw.open(path, flags as 'r', { mode }, cb)));
  }

  /** Closes a handle. */
  close(handle: Buffer, path: string): Promise<void> {
    return this.op('close', path, (cb) => this.raw.close(handle, (e) => cb(e)));
  }

  /** Writes `len` bytes of `buf` from `off` at file position `pos`. */
  write(handle: Buffer, buf: Buffer, off: number, len: number, pos: number, path: string): Promise<void> {
    return this.op('write', path, (cb) => this.raw.write(handle, buf, off, len, pos, (e) => cb(e)));
  }

  /** Reads up to `len` bytes at `pos` into `buf` at `off`; 0 means end of file. */
  read(handle: Buffer, buf: Buffer, off: number, len: number, pos: number, path: string): Promise<number> {
    return this.op('read', path, (cb) => this.raw.read(handle, buf, off, len, pos, (e, n) => cb(e, n)));
  }

  /** fsync(2) of an open handle through fsync@openssh.com. */
  fsync(handle: Buffer, path: string): Promise<void> {
    if (!this.has('fsync@openssh.com')) return Promise.reject(this.unsupported('fsync@openssh.com', path));
    return this.op('fsync', path, (cb) => this.raw.ext_openssh_fsync(handle, (e) => cb(e)));
  }

  /** link(2) through hardlink@openssh.com: fails if `newPath` exists. */
  link(oldPath: string, newPath: string): Promise<void> {
    if (!this.has('hardlink@openssh.com')) return Promise.reject(this.unsupported('hardlink@openssh.com', newPath));
    return this.op('link', newPath, (cb) => this.raw.ext_openssh_hardlink(oldPath, newPath, (e) => cb(e)));
  }

  /** Plain SFTP rename; OpenSSH's server refuses an existing target (it links, then unlinks). */
  renameNoReplace(oldPath: string, newPath: string): Promise<void> {
    return this.op('rename', newPath, (cb) => this.raw.rename(oldPath, newPath, (e) => cb(e)));
  }

  /** Attributes of an open handle. */
  fstat(handle: Buffer, path: string): Promise<RemoteStat> {
    return this.op<Attributes>('fstat', path, (cb) => this.raw.fstat(handle, cb)).then(toStat);
  }

  /** stat(2) of a remote path (follows symlinks). */
  stat(path: string): Promise<RemoteStat> {
    return this.op<Attributes>('stat', path, (cb) => this.raw.stat(path, cb)).then(toStat);
  }

  /** lstat(2) of a remote path. */
  lstat(path: string): Promise<RemoteStat> {
    return this.op<Attributes>('lstat', path, (cb) => this.raw.lstat(path, cb)).then(toStat);
  }

  /** statvfs(2) of the filesystem holding `path` through statvfs@openssh.com. */
  statvfs(path: string): Promise<RemoteFsStat> {
    if (!this.has('statvfs@openssh.com')) return Promise.reject(this.unsupported('statvfs@openssh.com', path));
    return this.op<{ f_frsize: number | bigint; f_bavail: number | bigint; f_favail: number | bigint }>('statvfs', path, (cb) =>
      this.raw.ext_openssh_statvfs(path, cb as never),
    ).then((v) => ({
      bytesAvailable: Number(v.f_frsize) * Number(v.f_bavail),
      inodesAvailable: Number(v.f_favail),
    }));
  }

  /** Directory entries without `.` and `..`, with their attributes. */
  async readdir(path: string): Promise<RemoteDirEntry[]> {
    const list = await this.op<Array<{ filename: string; attrs: Attributes }>>('readdir', path, (cb) => this.raw.readdir(path, cb));
    return list.filter((e) => e.filename !== '.' && e.filename !== '..').map((e) => ({ name: e.filename, ...toStat(e.attrs) }));
  }

  /**
   * Directory entries (without `.` and `..`) in the batches the server answers one READDIR
   * with (OpenSSH: up to 100), so a caller need not hold a whole large directory at once;
   * errors as readdir. The handle is closed when the loop ends, also early.
   */
  async *readdirBatches(path: string): AsyncGenerator<RemoteDirEntry[]> {
    const handle = await this.op<Buffer>('readdir', path, (cb) => this.raw.opendir(path, cb));
    try {
      for (;;) {
        const list = await this.live
          .call<Array<{ filename: string; attrs: Attributes }>>((cb) => this.raw.readdir(handle, cb))
          .catch((err: unknown) => {
            // SSH_FX_EOF (1): no more entries.
            if ((err as { code?: unknown }).code === 1) return undefined;
            throw sftpError('readdir', path, err, this.endpoint);
          });
        if (!list) return;
        yield list.filter((e) => e.filename !== '.' && e.filename !== '..').map((e) => ({ name: e.filename, ...toStat(e.attrs) }));
      }
    } finally {
      await this.close(handle, path).catch(() => undefined);
    }
  }

  /** mkdir(2) with a mode. */
  mkdir(path: string, mode: number): Promise<void> {
    return this.op('mkdir', path, (cb) => this.raw.mkdir(path, { mode }, (e) => cb(e)));
  }

  /** unlink(2). */
  unlink(path: string): Promise<void> {
    return this.op('remove', path, (cb) => this.raw.unlink(path, (e) => cb(e)));
  }

  /** rmdir(2). */
  rmdir(path: string): Promise<void> {
    return this.op('rmdir', path, (cb) => this.raw.rmdir(path, (e) => cb(e)));
  }

  /** Closes the channel; the connection stays up. */
  end(): void {
    try {
      this.raw.end();
    } catch {
      // already closed
    }
  }

  private unsupported(ext: string, path: string): SshError {
    return new SshError(SshErrorCode.SFTP_UNSUPPORTED, `SFTP server on ${this.endpoint} does not offer ${ext} (needed for ${path})`, {
      endpoint: this.endpoint,
      remotePath: path,
      hint: 'use an OpenSSH sshd (5.7 or newer) on the remote side',
    });
  }
}

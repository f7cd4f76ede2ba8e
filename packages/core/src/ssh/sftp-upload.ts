/**
 * Durable, no-clobber upload: the hot path of cmd_archiver (one 16 MiB WAL segment per call).
 *
 * Order matters: write a dot-temp in the target directory → fsync it → link(2) it to the final
 * name (fails if the name exists, so nothing is ever overwritten) → unlink the temp → fsync
 * the directory. A crash at any point leaves either no final name or a complete, fsynced file
 * under it, never a torn one. When the final name already exists we compare contents:
 * identical is success (a retried archive_command), different is a conflict that we report
 * and never "fix". Every step's result counts: a failed fsync (of the file or of the
 * directory), link or unlink throws an SshError naming the step and the path, so the caller
 * never counts a copy as durable that is not. Only `dirFsync: false` (the per-slave key
 * remote_dir_fsync: off, for servers that cannot open a directory) skips the directory fsync.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { BufferPool } from '../buffer-pool.js';
import type { Logger } from '../log.js';
import { SshError, SshErrorCode, type SshErrorCodeValue } from './errors.js';
import type { RemoteStat, SftpChannel } from './sftp-channel.js';
import { judgeOwnDir } from '../fs/ownership.js';
import { lanes } from '../lanes.js';
import { openSource, pipelinedWrite, type Source, type UploadSource } from './sftp-write.js';

/** Options of uploadAtomic. */
export interface UploadOptions {
  /** Mode of the created file (before the remote umask); default 0600. */
  mode?: number;
  /** Called after each acknowledged write with bytes done and total. */
  onProgress?: (done: number, total: number) => void;
  /** fsync the directory after the link; default true. false only for servers that cannot (remote_dir_fsync: off). */
  dirFsync?: boolean;
  /** WRITE requests kept in flight; default 16. */
  inFlight?: number;
  /** Buffers shared with other uploads, one per WRITE request in flight (pipelinedWrite): their count is the shared limit. */
  buffers?: BufferPool;
  /** Bytes per WRITE request; capped at the server's limit (OpenSSH: 255 KiB). */
  chunkSize?: number;
  /**
   * The key that names remoteDir (e.g. 'r_archivedir'): the directory must then be ours alone
   * (fs/ownership.ts's rule: no symbolic link, owned by the user we log in as, not writable by
   * group or others), or nothing is linked and SFTP_PERMISSION_DENIED is thrown with the fix.
   * The first upload into a directory on a channel waits for its LSTAT before it opens anything
   * there (one round trip per channel and directory), so a symbolic link is never written through
   * and a directory others can write to never gets our bytes; later ones send the LSTAT with the
   * writes and still refuse before the link (and, once per channel, the temp's FSTAT: our uid there).
   */
  privateDir?: string;
  log?: Logger;
}

/** Outcome: 'created' (new file), 'identical' (already there, same bytes), 'conflict' (different file left untouched). */
export interface UploadResult {
  status: 'created' | 'identical' | 'conflict';
  bytes: number;
  /** Whether the directory was fsynced after the link (false only with `dirFsync: false`). */
  dirSynced: boolean;
}

/** Compares a remote file with the source byte for byte (size first); fsyncs it when identical (throws when that fails). */
async function sameContent(ch: SftpChannel, remotePath: string, source: Source, inFlight: number): Promise<boolean> {
  const st = await ch.stat(remotePath);
  if (!st.isFile || st.size !== source.size) return false;
  const handle = await ch.open(remotePath, 'r');
  try {
    const chunk = ch.maxRead;
    let next = 0;
    let differs = false;
    await lanes(Math.max(1, Math.min(inFlight, Math.ceil(source.size / chunk))), async (stop) => {
      const remote = Buffer.allocUnsafe(chunk);
      const local = Buffer.allocUnsafe(chunk);
      while (next < source.size && !stop() && !differs) {
        const pos = next;
        const len = Math.min(chunk, source.size - pos);
        next += len;
        let got = 0;
        while (got < len) {
          const n = await ch.read(handle, remote, got, len - got, pos + got, remotePath);
          if (n === 0) {
            differs = true;
            return;
          } // shrank under us
          got += n;
        }
        const mine = await source.chunk(local, pos, len);
        if (!remote.subarray(0, len).equals(mine.subarray(0, len))) differs = true;
      }
    });
    // An earlier attempt (or another tool) may have created the file without fsync.
    if (!differs) await ch.fsync(handle, remotePath);
    return !differs;
  } finally {
    await ch.close(handle, remotePath).catch(() => undefined);
  }
}

/**
 * fsyncs a remote directory: OpenSSH's server open(2)s any path, and fsync(2) on a directory fd
 * works. Throws an SshError "fsync of directory DIR on user@host:port failed: WHY" (code of the
 * cause, SFTP_UNSUPPORTED without fsync@openssh.com) when it cannot be done.
 */
export async function fsyncRemoteDir(ch: SftpChannel, dir: string, opened?: Promise<Buffer>): Promise<void> {
  try {
    const h = await (opened ?? ch.open(dir, 'r'));
    try {
      await ch.fsync(h, dir);
    } finally {
      // A read-only directory handle: its close has nothing to report; the next request queues behind it.
      void ch.close(h, dir).catch(() => undefined);
    }
  } catch (err) {
    if (!(err instanceof SshError) || err.code === SshErrorCode.DISCONNECTED) throw err;
    const why = err.message.replace(/^SFTP \S+ \S.* on \S+: /, '');
    throw new SshError(err.code as SshErrorCodeValue, `fsync of directory ${dir} on ${ch.endpoint} failed: ${why}`, {
      cause: err,
      endpoint: ch.endpoint,
      remotePath: dir,
      hint:
        err.code === SshErrorCode.SFTP_PERMISSION_DENIED
          ? `the SSH user must be able to read ${dir} (chmod u+r); or, for a server that can never fsync a directory, set remote_dir_fsync: off for this slave`
          : 'for a server that can never fsync a directory, set remote_dir_fsync: off for this slave',
    });
  }
}

/**
 * A write-side step failed: OpenSSH's sftp-server sends ENOSPC and EDQUOT alike as the generic
 * SSH2_FX_FAILURE, so ask the server (statvfs@openssh.com) whether the filesystem of `dir` is full
 * and say which. Returns the error to throw: SFTP_NO_SPACE "disk full", or the original one with
 * "not for lack of space" added; other errors unchanged.
 */
export async function explainWriteFailure(ch: SftpChannel, dir: string, err: unknown, needBytes: number): Promise<unknown> {
  if (!(err instanceof SshError) || err.code !== SshErrorCode.SFTP_FAILURE || !ch.has('statvfs@openssh.com')) return err;
  const fs = await ch.statvfs(dir).catch(() => undefined);
  if (fs === undefined) return err;
  const opts = { cause: err, endpoint: ch.endpoint, ...(err.remotePath !== undefined ? { remotePath: err.remotePath } : {}) };
  if (fs.bytesAvailable < needBytes || fs.inodesAvailable === 0) {
    return new SshError(
      SshErrorCode.SFTP_NO_SPACE,
      `${err.message}: disk full (${fs.bytesAvailable} bytes, ${fs.inodesAvailable} inodes ` + `free on the filesystem of ${dir}, ${needBytes} bytes needed)`,
      { ...opts, hint: `free space on the filesystem of ${dir} on ${ch.endpoint}` },
    );
  }
  return new SshError(
    SshErrorCode.SFTP_FAILURE,
    `${err.message}: write failed (not for lack of space: ` + `${fs.bytesAvailable} bytes free on the filesystem of ${dir}; quota or I/O error?)`,
    opts,
  );
}

/** A fresh temp name in the same directory: hidden, unique, recognisable by removeStaleTemps. */
export function tempNameFor(name: string): string {
  return `.${name}.${randomBytes(8).toString('hex')}.tmp`;
}

const TEMP_RE = /^\..+\.[0-9a-f]{16}\.tmp$/;

/**
 * Our uid on each channel's server, learnt from the first temp file's FSTAT: it cannot change for
 * a channel, so later uploads send only the directory's LSTAT (which still catches a chmod made
 * while cmd_queue runs).
 */
const ownUid = new WeakMap<SftpChannel, number>();

/**
 * The private directories (UploadOptions.privateDir) whose LSTAT passed on each channel. Before
 * that, an upload opens nothing in the directory until its LSTAT has answered: SFTP has no
 * O_NOFOLLOW for a path's directories, so a check sent with the writes would only say afterwards
 * that the whole file went through a link. A directory swapped for a link later, while the channel
 * lives, is caught by the LSTAT each upload still sends, before the link (the same race any
 * check-then-open over SFTP has).
 */
const passedDirs = new WeakMap<SftpChannel, Set<string>>();

/** Throws SFTP_PERMISSION_DENIED naming `key`, the slave and the fix unless `st` (the directory's lstat) is ours alone (judgeOwnDir); `uid` is ours there. */
function refuseUnlessPrivate(ch: SftpChannel, dir: string, key: string, st: RemoteStat, uid: number): void {
  const p = judgeOwnDir(st, dir, uid, `uid ${uid}`);
  if (p === undefined) return;
  throw new SshError(SshErrorCode.SFTP_PERMISSION_DENIED, `refusing to write in ${key} ${dir} on ${ch.endpoint}: it ${p.problem}`, {
    hint: `on ${ch.endpoint}, ${p.hint}`,
    endpoint: ch.endpoint,
    remotePath: dir,
  });
}

/** Uploads `src` as `remoteDir/name`, durably, never overwriting and never exposing a partial file. */
export async function uploadAtomic(ch: SftpChannel, src: UploadSource, remoteDir: string, name: string, opts: UploadOptions = {}): Promise<UploadResult> {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new TypeError(`not a plain file name: ${JSON.stringify(name)}`);
  }
  const finalPath = posix.join(remoteDir, name);
  const tmpPath = posix.join(remoteDir, tempNameFor(name));
  const inFlight = opts.inFlight ?? 16;
  const source = await openSource(src);
  let tmpExists = false;
  // The directory's owner and mode, and (from the temp) who we are there: asked with the open.
  const dirStat = opts.privateDir !== undefined ? ch.lstat(remoteDir) : undefined;
  dirStat?.catch(() => undefined);
  let uid: Promise<number> | undefined;
  try {
    if (dirStat !== undefined && passedDirs.get(ch)?.has(remoteDir) !== true) {
      // Before the first byte: a link, a non-directory, write bits for others (and, once our uid is
      // known on this channel, another owner). An LSTAT that fails leaves the answer to the open.
      const st = await dirStat.catch(() => undefined);
      if (st !== undefined) refuseUnlessPrivate(ch, remoteDir, opts.privateDir!, st, ownUid.get(ch) ?? st.uid);
    }
    try {
      const handle = await ch.open(tmpPath, 'wx', opts.mode ?? 0o600);
      tmpExists = true;
      if (dirStat !== undefined) {
        const known = ownUid.get(ch);
        uid = known !== undefined ? Promise.resolve(known) : ch.fstat(handle, tmpPath).then((st) => (ownUid.set(ch, st.uid), st.uid));
        uid.catch(() => undefined);
      }
      let closed = false;
      try {
        await pipelinedWrite(ch, handle, tmpPath, source, {
          inFlight,
          ...(opts.buffers ? { buffers: opts.buffers } : {}),
          ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        });
        // fsync and close go out together (the server answers a handle's requests in order): one
        // round trip for both. close(2) reports delayed write errors on some filesystems (NFS):
        // its result counts too.
        const synced = ch.fsync(handle, tmpPath);
        closed = true;
        const [s, c] = await Promise.allSettled([synced, ch.close(handle, tmpPath)]);
        if (s.status === 'rejected') throw s.reason;
        if (c.status === 'rejected') throw c.reason;
      } finally {
        if (!closed) await ch.close(handle, tmpPath).catch(() => undefined);
      }
    } catch (err) {
      // Ask before the finally below removes the temp file and frees its space.
      throw await explainWriteFailure(ch, remoteDir, err, source.size);
    }
    if (dirStat !== undefined && uid !== undefined) {
      refuseUnlessPrivate(ch, remoteDir, opts.privateDir!, await dirStat, await uid);
      const passed = passedDirs.get(ch) ?? new Set<string>();
      passedDirs.set(ch, passed.add(remoteDir));
    }
    const dirFsync = opts.dirFsync ?? true;
    // With hardlink@openssh.com (OpenSSH's sftp-server, which answers requests one after the
    // other, in order) the directory is opened for its fsync together with the link, and the
    // temp's unlink goes out with that fsync: two round trips after the close instead of five.
    let dirOpen: Promise<Buffer> | undefined;
    const dropDir = (): void => {
      void dirOpen?.then((h) => ch.close(h, remoteDir)).catch(() => undefined);
    };
    let linked: boolean;
    try {
      if (ch.has('hardlink@openssh.com')) {
        const linking = ch.link(tmpPath, finalPath);
        if (dirFsync) {
          dirOpen = ch.open(remoteDir, 'r');
          dirOpen.catch(() => undefined);
        }
        await linking;
      } else {
        // Never posix-rename@openssh.com here: it replaces an existing target.
        await ch.renameNoReplace(tmpPath, finalPath);
        tmpExists = false;
      }
      linked = true;
    } catch (err) {
      dropDir();
      if (err instanceof SshError && err.code === SshErrorCode.DISCONNECTED) throw err;
      // OpenSSH maps EEXIST to a generic failure; look at what is under the final name.
      const exists = await ch.lstat(finalPath).then(
        () => true,
        (e: unknown) => (e instanceof SshError && e.code === SshErrorCode.SFTP_NO_SUCH_FILE ? false : Promise.reject(e)),
      );
      if (!exists) throw await explainWriteFailure(ch, remoteDir, err, 1); // a new directory entry may need a block
      linked = false;
    }
    if (!linked) {
      const same = await sameContent(ch, finalPath, source, inFlight);
      opts.log?.debug(`${finalPath} already exists on ${ch.endpoint}: ${same ? 'identical' : 'DIFFERENT'} content`);
      // The earlier attempt may have died before its directory fsync: do it now, or it is not durable.
      if (same && dirFsync) await fsyncRemoteDir(ch, remoteDir);
      return { status: same ? 'identical' : 'conflict', bytes: source.size, dirSynced: same && dirFsync };
    }
    const removed = tmpExists ? ch.unlink(tmpPath) : Promise.resolve();
    const synced = dirFsync ? fsyncRemoteDir(ch, remoteDir, dirOpen) : Promise.resolve();
    const [r, d] = await Promise.allSettled([removed, synced]);
    if (r.status === 'rejected') throw r.reason;
    tmpExists = false;
    if (d.status === 'rejected') throw d.reason;
    return { status: 'created', bytes: source.size, dirSynced: dirFsync };
  } finally {
    await source.close().catch(() => undefined);
    if (tmpExists) {
      await ch.unlink(tmpPath).catch((e: unknown) => {
        opts.log?.warning(`could not remove temp file ${tmpPath} on ${ch.endpoint}: ${(e as Error).message}`);
      });
    }
  }
}

/** Removes temp files left in `remoteDir` by killed uploads, older than `minAgeSec`; returns their names. */
export async function removeStaleTemps(ch: SftpChannel, remoteDir: string, minAgeSec = 3600, nowSec = Date.now() / 1000): Promise<string[]> {
  const gone: string[] = [];
  for (const e of await ch.readdir(remoteDir)) {
    if (!e.isFile || !TEMP_RE.test(e.name) || nowSec - e.mtime < minAgeSec) continue;
    await ch.unlink(posix.join(remoteDir, e.name)).then(
      () => gone.push(e.name),
      () => undefined,
    );
  }
  return gone;
}

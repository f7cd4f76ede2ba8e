/**
 * An authenticated SSH connection and what we do over it: SFTP file work (upload, download,
 * stat, readdir, mkdirp, remove), rare remote commands, and port forwards for pg.
 */
import { posix } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { shellJoin } from './quote.js';
import type { Logger } from '../log.js';
import { SshError, SshErrorCode } from './errors.js';
import { execRemote, type ExecOptions, type ExecResult } from './exec.js';
import { forwardOutChannel, SshTunnelSocket, streamLocalChannel } from './forward.js';
import type { Liveness } from './liveness.js';
import { SftpChannel, type RemoteDirEntry, type RemoteStat } from './sftp-channel.js';
import { download, readRemoteFile, type DownloadOptions, type DownloadResult } from './sftp-download.js';
import { fsyncRemoteDir, removeStaleTemps, uploadAtomic, type UploadOptions, type UploadResult } from './sftp-upload.js';
import type { UploadSource } from './sftp-write.js';

/** A connected, authenticated SSH session. Obtain one with connectSsh(); close() it when done. */
export class SshSession {
  private defaultSftp: Promise<SftpChannel> | undefined;
  private closing = false;

  constructor(
    private readonly client: Client,
    private readonly live: Liveness,
    /** `user@host:port`, for messages. */
    readonly endpoint: string,
    private readonly log: Logger | undefined,
  ) {
    client.on('close', () => {
      this.live.kill(
        new SshError(
          SshErrorCode.DISCONNECTED,
          this.closing ? `SSH session to ${endpoint} was closed` : `lost the SSH connection to ${endpoint}${this.lastError ? `: ${this.lastError}` : ''}`,
          { endpoint },
        ),
      );
    });
  }

  /** Set by connect.ts from the client's 'error' events, to explain a later disconnect. */
  lastError: string | undefined;

  /** The error the session died with, or undefined while it is usable. */
  get closedError(): SshError | undefined {
    return this.live.error;
  }

  /** Opens a new SFTP channel of its own, e.g. one per parallel download worker. */
  async openSftp(): Promise<SftpChannel> {
    const raw = await this.live
      .call<SFTPWrapper>((cb) => this.client.sftp(cb))
      .catch((err: unknown) => {
        if (err instanceof SshError) throw err;
        // ssh2 says "Not connected" when the connection went (or we closed it) before its close
        // event: that is a lost connection, not a server without SFTP.
        if (this.closing || /not connected|no response/i.test((err as Error).message)) {
          throw new SshError(SshErrorCode.DISCONNECTED, `cannot start SFTP on ${this.endpoint}: ${(err as Error).message}`, {
            cause: err,
            endpoint: this.endpoint,
          });
        }
        throw new SshError(SshErrorCode.SFTP_UNSUPPORTED, `cannot start SFTP on ${this.endpoint}: ${(err as Error).message}`, {
          cause: err,
          endpoint: this.endpoint,
          hint: 'the remote sshd_config needs a "Subsystem sftp" line (internal-sftp or sftp-server)',
        });
      });
    const chLive = this.live.child();
    const ch = new SftpChannel(raw, chLive, this.endpoint);
    raw.on('close', () => chLive.kill(new SshError(SshErrorCode.DISCONNECTED, `SFTP channel to ${this.endpoint} closed`, { endpoint: this.endpoint })));
    raw.on('error', (e: Error) => {
      this.lastError = e.message;
    });
    return ch;
  }

  /** The session's shared SFTP channel (opened on first use, reopened if it closed). */
  sftp(): Promise<SftpChannel> {
    const cur = this.defaultSftp;
    if (cur) {
      return cur.then((ch) => {
        if (!ch.live.error || this.live.error) return ch;
        this.defaultSftp = undefined;
        return this.sftp();
      });
    }
    const p = this.openSftp();
    this.defaultSftp = p;
    p.catch(() => {
      if (this.defaultSftp === p) this.defaultSftp = undefined;
    });
    return p;
  }

  /** SFTP extensions the server advertised (name → version). */
  async extensions(): Promise<Record<string, string>> {
    return (await this.sftp()).extensions();
  }

  /** Uploads durably as remoteDir/name without ever overwriting; see sftp-upload.ts. */
  async uploadAtomic(src: UploadSource, remoteDir: string, name: string, opts: UploadOptions = {}): Promise<UploadResult> {
    return uploadAtomic(await this.sftp(), src, remoteDir, name, { ...(this.log ? { log: this.log } : {}), ...opts });
  }

  /** Removes temp files of killed uploads older than minAgeSec from remoteDir. */
  async removeStaleTemps(remoteDir: string, minAgeSec?: number): Promise<string[]> {
    return removeStaleTemps(await this.sftp(), remoteDir, minAgeSec);
  }

  /** Downloads a remote file with pipelined reads into a local path or a Writable. */
  async download(remotePath: string, dest: string | Writable, opts: DownloadOptions = {}): Promise<DownloadResult> {
    return download(await this.sftp(), remotePath, dest, opts);
  }

  /** Reads a whole (small) remote file. */
  async readFile(remotePath: string): Promise<Buffer> {
    return readRemoteFile(await this.sftp(), remotePath);
  }

  /** stat(2) of a remote path. */
  async stat(remotePath: string): Promise<RemoteStat> {
    return (await this.sftp()).stat(remotePath);
  }

  /** stat, or undefined when the path does not exist. */
  async statIfExists(remotePath: string): Promise<RemoteStat | undefined> {
    return this.stat(remotePath).catch((e: unknown) => {
      if (e instanceof SshError && e.code === SshErrorCode.SFTP_NO_SUCH_FILE) return undefined;
      throw e;
    });
  }

  /** Entries of a remote directory with their attributes (no `.`/`..`). */
  async readdir(remotePath: string): Promise<RemoteDirEntry[]> {
    return (await this.sftp()).readdir(remotePath);
  }

  /** Creates a remote directory and its missing parents (mode 0700 by default); fine if it exists. */
  async mkdirp(remotePath: string, mode = 0o700): Promise<void> {
    const ch = await this.sftp();
    const make = async (p: string): Promise<void> => {
      try {
        await ch.mkdir(p, mode);
      } catch (err) {
        const code = (err as SshError).code;
        if (code === SshErrorCode.SFTP_NO_SUCH_FILE && posix.dirname(p) !== p) {
          await make(posix.dirname(p));
          await ch.mkdir(p, mode).catch((e: unknown) => this.existsAsDir(ch, p, e));
          return;
        }
        // OpenSSH reports EEXIST as a plain failure: accept it only if a directory is there.
        await this.existsAsDir(ch, p, err);
      }
    };
    await make(remotePath);
  }

  private async existsAsDir(ch: SftpChannel, p: string, original: unknown): Promise<void> {
    const st = await ch.stat(p).catch(() => undefined);
    if (!st?.isDirectory) throw original;
  }

  /** Removes a remote file (or an empty directory). */
  async remove(remotePath: string): Promise<void> {
    const ch = await this.sftp();
    const st = await ch.lstat(remotePath);
    if (st.isDirectory) await ch.rmdir(remotePath);
    else await ch.unlink(remotePath);
  }

  /** fsyncs a remote directory (OpenSSH servers); throws an SshError naming the directory when it cannot. */
  async fsyncDir(remotePath: string): Promise<void> {
    await fsyncRemoteDir(await this.sftp(), remotePath);
  }

  /** Runs argv remotely through the login shell, each argument single-quoted; see exec.ts for why this is rare. */
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return execRemote(this.client, this.live, this.endpoint, argv, opts);
  }

  /** Starts argv on the remote host (single-quoted through shellJoin) and returns its channel: stdin/stdout as a stream, `stderr` and 'exit' as ssh2 gives them. */
  execChannel(argv: readonly string[]): Promise<ClientChannel> {
    return this.live.call<ClientChannel>((cb) =>
      this.client.exec(shellJoin(argv), (err, ch) => {
        if (err)
          cb(new SshError(SshErrorCode.EXEC_FAILED, `cannot start ${argv[0]} on ${this.endpoint}: ${err.message}`, { cause: err, endpoint: this.endpoint }));
        else cb(undefined, ch);
      }),
    );
  }

  /** A stream to dstHost:dstPort as seen from the remote host (direct-tcpip). */
  forwardOut(dstHost: string, dstPort: number): Promise<Duplex> {
    return forwardOutChannel(this.client, this.live, this.endpoint, dstHost, dstPort);
  }

  /** A stream to a Unix socket on the remote host (direct-streamlocal@openssh.com). */
  openStreamLocal(socketPath: string): Promise<Duplex> {
    return streamLocalChannel(this.client, this.live, this.endpoint, socketPath);
  }

  /** A socket look-alike for pg that connects through this session (see pgStreamFactory). */
  tunnelSocket(host: string, port: number): SshTunnelSocket {
    return new SshTunnelSocket(() =>
      host.startsWith('/')
        ? streamLocalChannel(this.client, this.live, this.endpoint, `${host}/.s.PGSQL.${port}`)
        : forwardOutChannel(this.client, this.live, this.endpoint, host, port),
    );
  }

  /** Closes the connection; pending operations fail with SSH_DISCONNECTED. */
  async close(): Promise<void> {
    if (this.live.error) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      // A peer that no longer answers would keep end() waiting: cut it after a moment.
      setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2000).unref();
    });
  }

  /** Cuts the TCP connection at once, without the SSH goodbye (tests, and aborting a stuck transfer). */
  destroy(): void {
    this.client.destroy();
  }
}

/** What pg's `new Client({ stream })` accepts: a function returning a socket that tunnels to host:port on the master (a path host means a Unix socket dir). */
export function pgStreamFactory(session: SshSession, host: string, port: number): () => Duplex {
  return () => session.tunnelSocket(host, port);
}

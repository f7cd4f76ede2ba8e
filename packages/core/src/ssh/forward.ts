/**
 * Port forwarding over the SSH connection (direct-tcpip and OpenSSH's direct-streamlocal),
 * and a socket look-alike so node-postgres can talk to the master's PostgreSQL through it.
 */
import { Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { SshError, SshErrorCode } from './errors.js';
import type { Liveness } from './liveness.js';

/** Opens a direct-tcpip channel: the remote sshd connects to dstHost:dstPort for us. */
export function forwardOutChannel(client: Client, live: Liveness, endpoint: string, dstHost: string, dstPort: number): Promise<ClientChannel> {
  return live
    .call<ClientChannel>((cb) => client.forwardOut('127.0.0.1', 0, dstHost, dstPort, cb))
    .catch((err: unknown) => {
      if (err instanceof SshError) throw err;
      throw new SshError(SshErrorCode.FORWARD_FAILED, `sshd on ${endpoint} could not connect to ${dstHost}:${dstPort}: ${(err as Error).message}`, {
        cause: err,
        endpoint,
        hint: `check that something listens on ${dstHost}:${dstPort} as seen from the remote host, and that its sshd_config allows AllowTcpForwarding`,
      });
    });
}

/** Opens a direct-streamlocal@openssh.com channel to a Unix socket on the remote host. */
export function streamLocalChannel(client: Client, live: Liveness, endpoint: string, socketPath: string): Promise<ClientChannel> {
  return live
    .call<ClientChannel>((cb) => client.openssh_forwardOutStreamLocal(socketPath, cb))
    .catch((err: unknown) => {
      if (err instanceof SshError) throw err;
      throw new SshError(SshErrorCode.FORWARD_FAILED, `sshd on ${endpoint} could not connect to the socket ${socketPath}: ${(err as Error).message}`, {
        cause: err,
        endpoint,
        remotePath: socketPath,
        hint: 'check the socket path and that the remote sshd_config allows AllowStreamLocalForwarding',
      });
    });
}

/**
 * A Duplex that looks enough like net.Socket for pg's Connection: it calls setNoDelay(),
 * connect(port, host) (or connect(path)), waits for 'connect', may call setKeepAlive(),
 * ref()/unref(), and treats 'close' as the end of the connection. The channel is opened
 * on connect(); pg's own host and port are ignored in favour of the factory's.
 */
export class SshTunnelSocket extends Duplex {
  private channel: ClientChannel | undefined;
  private pendingWrite: (() => void) | undefined;
  connecting = false;

  constructor(private readonly open: () => Promise<ClientChannel>) {
    super({ allowHalfOpen: false });
  }

  /** Starts opening the channel; emits 'connect' (and 'ready') when it is open. */
  connect(..._args: unknown[]): this {
    if (this.connecting || this.channel) return this;
    this.connecting = true;
    this.open().then(
      (ch) => {
        this.connecting = false;
        if (this.destroyed) {
          ch.destroy();
          return;
        }
        this.channel = ch;
        ch.on('data', (d: Buffer) => {
          if (!this.push(d)) ch.pause();
        });
        ch.on('end', () => this.push(null));
        ch.on('close', () => {
          this.push(null);
          if (!this.destroyed) this.destroy();
        });
        ch.on('error', (e: Error) => this.destroy(e));
        this.emit('connect');
        this.emit('ready');
        this.pendingWrite?.();
      },
      (err: unknown) => {
        this.connecting = false;
        this.destroy(err as Error);
      },
    );
    return this;
  }

  /** No-op: Nagle is a property of the SSH connection's TCP socket, already off. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  /** No-op: the SSH connection has its own keepalive. */
  setKeepAlive(_enable?: boolean, _delay?: number): this {
    return this;
  }

  /** No-op, for pg's Pool. */
  ref(): this {
    return this;
  }

  /** No-op, for pg's Pool. */
  unref(): this {
    return this;
  }

  override _read(): void {
    this.channel?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const send = (): void => {
      this.pendingWrite = undefined;
      if (!this.channel) return cb(new Error('tunnel not open'));
      if (this.channel.write(chunk)) cb();
      else this.channel.once('drain', () => cb());
    };
    if (this.channel) send();
    else this.pendingWrite = send;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.channel?.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.channel?.destroy();
    cb(err);
  }
}

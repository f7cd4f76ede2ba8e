/**
 * Running a command on the remote host. Rarely the right tool: SFTP needs no remote shell,
 * works for accounts restricted to internal-sftp, does not depend on the remote login shell's
 * dialect or start-up files, and gives typed errors per file. exec is kept for what SFTP cannot
 * do (e.g. asking the master whether its postmaster runs). SSH carries one command string, not
 * an argv, so the argv is joined only through shellJoin (single quotes), never interpolated.
 */
import type { Client, ClientChannel } from 'ssh2';
import { SshError, SshErrorCode } from './errors.js';
import type { Liveness } from './liveness.js';
import { shellJoin } from './quote.js';

/** Options of exec. */
export interface ExecOptions {
  /** Bytes fed to the command's standard input (then closed); nothing by default. */
  stdin?: Buffer | string;
  /** Kill the command and fail with SSH_EXEC_TIMEOUT after this long; none by default. */
  timeoutMs?: number;
  /** Cap on stdout and stderr each; default 16 MiB (the rest is dropped, `truncated` set). */
  maxBuffer?: number;
}

/** How a remote command ended. `code` is null when it died by a signal. */
export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  truncated: boolean;
}

// ssh2's Channel.signal() sends nothing once we have sent EOF (stdin closed), although the
// protocol allows channel requests until close; go to its protocol object directly.
interface ChannelInternals {
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/** Asks sshd to kill the command's process group (OpenSSH honours "signal" since 7.8). */
function sendKill(ch: ClientChannel): void {
  const c = ch as unknown as ChannelInternals;
  try {
    if (c.outgoing && (c.outgoing.state === 'open' || c.outgoing.state === 'eof') && c._client?._protocol) {
      c._client._protocol.signal(c.outgoing.id, 'KILL');
    } else {
      ch.signal('KILL');
    }
  } catch {
    // channel already gone
  }
}

/** Runs argv on the remote host (through its login shell, every argument single-quoted). */
export function execRemote(client: Client, live: Liveness, endpoint: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const command = shellJoin(argv);
  const max = opts.maxBuffer ?? 16 * 1024 * 1024;
  let channel: ClientChannel | undefined;
  let timer: NodeJS.Timeout | undefined;
  return live
    .call<ExecResult>((cb) => {
      client.exec(command, (err, ch) => {
        if (err) {
          cb(new SshError(SshErrorCode.EXEC_FAILED, `cannot start ${argv[0]} on ${endpoint}: ${err.message}`, { cause: err, endpoint }));
          return;
        }
        channel = ch;
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let outLen = 0;
        let errLen = 0;
        let truncated = false;
        let code: number | null = null;
        let signal: string | null = null;
        ch.on('data', (d: Buffer) => {
          if (outLen + d.length > max) {
            truncated = true;
            d = d.subarray(0, Math.max(0, max - outLen));
          }
          outLen += d.length;
          out.push(d);
        });
        ch.stderr.on('data', (d: Buffer) => {
          if (errLen + d.length > max) {
            truncated = true;
            d = d.subarray(0, Math.max(0, max - errLen));
          }
          errLen += d.length;
          errs.push(d);
        });
        ch.on('exit', (c: number | null, s?: string) => {
          code = typeof c === 'number' ? c : null;
          signal = s ?? null;
        });
        ch.on('close', () => {
          cb(undefined, { code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(errs), truncated });
        });
        if (opts.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            sendKill(ch);
            ch.close();
            cb(new SshError(SshErrorCode.EXEC_TIMEOUT, `${argv[0]} on ${endpoint} did not finish within ${opts.timeoutMs} ms`, { endpoint }));
          }, opts.timeoutMs);
        }
        ch.end(opts.stdin ?? undefined);
      });
    })
    .finally(() => {
      if (timer) clearTimeout(timer);
      if (channel && live.error) channel.destroy();
    });
}

/**
 * Errors of the SSH layer. Each one is a single line a person can act on, with the command
 * that fixes it in `hint` where there is one; `code` is stable for logs, tests and --json.
 */
import { PitrError } from '../errors.js';

/** Stable codes of SSH and SFTP failures. */
export const SshErrorCode = {
  REFUSED: 'SSH_REFUSED',
  TIMEOUT: 'SSH_TIMEOUT',
  UNREACHABLE: 'SSH_UNREACHABLE',
  AUTH_FAILED: 'SSH_AUTH_FAILED',
  NO_IDENTITY: 'SSH_NO_IDENTITY',
  HOSTKEY_UNKNOWN: 'SSH_HOSTKEY_UNKNOWN',
  HOSTKEY_CHANGED: 'SSH_HOSTKEY_CHANGED',
  HOSTKEY_REVOKED: 'SSH_HOSTKEY_REVOKED',
  KNOWN_HOSTS: 'SSH_KNOWN_HOSTS',
  CONNECT_FAILED: 'SSH_CONNECT_FAILED',
  DISCONNECTED: 'SSH_DISCONNECTED',
  EXEC_FAILED: 'SSH_EXEC_FAILED',
  EXEC_TIMEOUT: 'SSH_EXEC_TIMEOUT',
  FORWARD_FAILED: 'SSH_FORWARD_FAILED',
  SFTP_NO_SUCH_FILE: 'SFTP_NO_SUCH_FILE',
  SFTP_PERMISSION_DENIED: 'SFTP_PERMISSION_DENIED',
  SFTP_FAILURE: 'SFTP_FAILURE',
  /** A write failed and statvfs@openssh.com says the remote filesystem is full (OpenSSH sends ENOSPC as a plain failure). */
  SFTP_NO_SPACE: 'SFTP_NO_SPACE',
  SFTP_UNSUPPORTED: 'SFTP_UNSUPPORTED',
  SFTP_SHORT_READ: 'SFTP_SHORT_READ',
} as const;
export type SshErrorCodeValue = (typeof SshErrorCode)[keyof typeof SshErrorCode];

/** An SSH or SFTP failure; `remotePath` is set for SFTP errors, `endpoint` is `user@host:port`. */
export class SshError extends PitrError {
  readonly endpoint: string | undefined;
  readonly remotePath: string | undefined;
  constructor(code: SshErrorCodeValue, message: string, opts: { hint?: string; cause?: unknown; endpoint?: string; remotePath?: string } = {}) {
    super(code, message, {
      ...(opts.hint !== undefined ? { hint: opts.hint } : {}),
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    });
    this.name = 'SshError';
    this.endpoint = opts.endpoint;
    this.remotePath = opts.remotePath;
  }
}

/** True when `err` is an SshError with one of the given codes (any code when none given). */
export function isSshError(err: unknown, ...codes: SshErrorCodeValue[]): err is SshError {
  return err instanceof SshError && (codes.length === 0 || (codes as string[]).includes(err.code));
}

// SFTP status codes from draft-ietf-secsh-filexfer-02, the version OpenSSH speaks.
const SFTP_STATUS: Record<number, [SshErrorCodeValue, string]> = {
  1: [SshErrorCode.SFTP_FAILURE, 'end of file'],
  2: [SshErrorCode.SFTP_NO_SUCH_FILE, 'no such file or directory'],
  3: [SshErrorCode.SFTP_PERMISSION_DENIED, 'permission denied'],
  4: [SshErrorCode.SFTP_FAILURE, 'failure'],
  5: [SshErrorCode.SFTP_FAILURE, 'bad message'],
  8: [SshErrorCode.SFTP_UNSUPPORTED, 'operation not supported by the server'],
};

/** The SFTP status code carried by an ssh2 SFTP error, if any. */
export function sftpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Wraps an ssh2 SFTP failure as an SshError naming the operation and the remote path. */
export function sftpError(op: string, remotePath: string, err: unknown, endpoint?: string): SshError {
  if (err instanceof SshError) return err;
  const status = sftpStatus(err);
  const [code, text] = (status !== undefined ? SFTP_STATUS[status] : undefined) ?? [
    SshErrorCode.SFTP_FAILURE,
    err instanceof Error ? err.message : String(err),
  ];
  const where = endpoint !== undefined ? ` on ${endpoint}` : '';
  return new SshError(code, `SFTP ${op} ${remotePath}${where}: ${text}`, {
    cause: err,
    remotePath,
    ...(endpoint !== undefined ? { endpoint } : {}),
  });
}

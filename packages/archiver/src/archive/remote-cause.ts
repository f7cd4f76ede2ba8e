/**
 * Why a slave did not take a segment, as alerts name it: it cannot be reached, it refuses our
 * login, its host key is not the one we trust, or it took the connection but could not store
 * the file (disk full, permission denied, another write failure, a durability step that failed).
 * Each kind has its own alert events, so that a full disk is never reported as "unreachable".
 */
import { errorCode, PitrError } from '@pitrtools/core/errors';
import { SshErrorCode } from '@pitrtools/core/ssh/errors';

/** The four kinds of remote failure, each with its own pair of alert events. */
export type RemoteCauseKind = 'connect' | 'auth' | 'host_key' | 'write';

/** A classified remote failure. */
export interface RemoteCause {
  kind: RemoteCauseKind;
  /** Finer than kind (e.g. `disk_full`); a change of key during an outage is alerted. */
  key: string;
  /** A few words for the alert: "unreachable", "disk full", ... */
  what: string;
  /** The error's message with its hint. */
  reason: string;
}

/** Alert events per kind: the first one of an outage (or a changed cause), and the repeats. */
export const CAUSE_EVENTS: Record<RemoteCauseKind, { start: string; repeat: string }> = {
  connect: { start: 'slave_unreachable', repeat: 'slave_still_unreachable' },
  auth: { start: 'slave_auth_failed', repeat: 'slave_still_auth_failed' },
  host_key: { start: 'slave_host_key_rejected', repeat: 'slave_still_host_key_rejected' },
  write: { start: 'slave_write_failed', repeat: 'slave_still_write_failed' },
};

const AUTH: readonly string[] = [SshErrorCode.AUTH_FAILED, SshErrorCode.NO_IDENTITY];
const HOST_KEY: readonly string[] = [SshErrorCode.HOSTKEY_UNKNOWN, SshErrorCode.HOSTKEY_CHANGED, SshErrorCode.HOSTKEY_REVOKED, SshErrorCode.KNOWN_HOSTS];
const WRITE: Record<string, [string, string]> = {
  [SshErrorCode.SFTP_NO_SPACE]: ['disk_full', 'disk full'],
  [SshErrorCode.SFTP_PERMISSION_DENIED]: ['permission_denied', 'permission denied'],
  [SshErrorCode.SFTP_NO_SUCH_FILE]: ['no_such_file', 'no such file or directory'],
  [SshErrorCode.SFTP_UNSUPPORTED]: ['unsupported', 'operation not supported by the SFTP server'],
};

/** Every cause key remoteCause can return (each has a `.cause-KEY` claim while it is the current one). */
export const CAUSE_KEYS: readonly string[] = ['connect', 'auth', 'host_key', ...new Set([...Object.values(WRITE).map(([k]) => k), 'write_failed'])];

/** Classifies an SSH/SFTP error (see isRemoteError) by its code; anything else of the SSH layer counts as "cannot connect". */
export function remoteCause(err: unknown, reason: string): RemoteCause {
  const code = errorCode(err) ?? '';
  if (AUTH.includes(code)) return { kind: 'auth', key: 'auth', what: 'refuses our SSH login', reason };
  if (HOST_KEY.includes(code)) return { kind: 'host_key', key: 'host_key', what: 'host key not accepted', reason };
  if (err instanceof PitrError && code.startsWith('SFTP_')) {
    const [key, what] = WRITE[code] ?? ['write_failed', 'write failed'];
    return { kind: 'write', key, what, reason };
  }
  return { kind: 'connect', key: 'connect', what: 'unreachable', reason };
}

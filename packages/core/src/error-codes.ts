/**
 * The error-code registry: every `code` a PitrError can carry, the exit code it maps to, and one
 * line saying what it means. PitrError takes its exit code from here (one code, one exit code on
 * every path); docs/errors.md is generated from this table (scripts/gen-docs.mjs) and checked for
 * drift by `npm test`, as the ini keys are. Add a code here before throwing it: the compiler
 * refuses a code that is not listed.
 */

/** Exit codes shared by both programs (docs/errors.md lists them with the codes below; the Nagios checks use Nagios' own codes). */
export const ExitCode = {
  /** Success; for cmd_archiver -F: the segment is durable on every slave or in its queue. */
  OK: 0,
  /** The operation failed (for cmd_archiver: the segment is NOT safely archived; PostgreSQL retries). */
  FAILED: 1,
  /** Usage or configuration error: bad flag, bad ini, running as root. Nothing was done. */
  USAGE: 2,
  /** cmd_archiver: archiving is switched off (`state: offline`); PostgreSQL keeps the WAL and retries. */
  OFFLINE: 3,
  /** cmd_archiver: a slave already holds a different file under the same name; nothing was overwritten. */
  CONFLICT: 4,
  /** Interrupted by SIGINT (Ctrl-C; 128 + signal 2, as a shell reports it): the work was stopped half way. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM (128 + 15): the work was stopped half way. */
  TERMINATED: 143,
} as const;
/** One of the ExitCode values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
/** The name of an exit code (OK, FAILED, USAGE, ...). */
export type ExitCodeName = keyof typeof ExitCode;

/** One registry entry: the exit code's name, which program throws it, and its meaning in one line. */
export interface ErrorSpec {
  exit: ExitCodeName;
  /** How the exit point labels it; ERROR unless said (an intended state, such as offline, is a WARNING). */
  level?: 'ERROR' | 'WARNING';
  program: 'both' | 'cmd_archiver' | 'cmd_standby';
  meaning: string;
}

/** The registry. Keys are the stable codes shown in logs, `--json` and tests. */
export const ERRORS = {
  // Both programs: command line, configuration, local files.
  USAGE: { exit: 'USAGE', program: 'both', meaning: 'A flag is unknown, missing a value, or does not go with the others.' },
  RUNNING_AS_ROOT: { exit: 'USAGE', program: 'both', meaning: 'Started as root; run it as the database owner (e.g. postgres).' },
  INTERRUPTED: {
    exit: 'INTERRUPTED',
    program: 'both',
    meaning: 'Stopped by SIGINT (Ctrl-C) before the work was done; what was half done is said in the message.',
  },
  TERMINATED: { exit: 'TERMINATED', program: 'both', meaning: 'Stopped by SIGTERM before the work was done; what was half done is said in the message.' },
  CONFIG_UNREADABLE: { exit: 'USAGE', program: 'both', meaning: 'The ini file cannot be read.' },
  CONFIG_SYNTAX: { exit: 'USAGE', program: 'both', meaning: 'A line of the ini file is not `key: value`, `key = value`, a [section] or a comment.' },
  CONFIG_INTERPOLATION: { exit: 'USAGE', program: 'both', meaning: 'A %(name)s reference in the ini file names no key, or loops.' },
  CONFIG_UNKNOWN_KEY: { exit: 'USAGE', program: 'both', meaning: 'The ini file has a key this program does not know (the message suggests the closest one).' },
  CONFIG_UNKNOWN_SECTION: { exit: 'USAGE', program: 'both', meaning: 'The ini file has a section this program does not know.' },
  CONFIG_MISSING_KEY: { exit: 'USAGE', program: 'both', meaning: 'A required ini key is missing.' },
  CONFIG_BAD_VALUE: { exit: 'USAGE', program: 'both', meaning: 'An ini value has the wrong type or is out of range.' },
  CONFIG_BAD_SLAVE: { exit: 'USAGE', program: 'both', meaning: 'The slaves list (or a slave section) cannot be read as host[:port] entries.' },
  CONFIG_DUPLICATE_SLAVE: { exit: 'USAGE', program: 'both', meaning: 'Two slaves name the same host and port, or share a queue directory.' },
  DIR_NOT_PRIVATE: {
    exit: 'USAGE',
    program: 'both',
    meaning: 'A directory we write in is missing, not ours, a symbolic link, or writable by group or others.',
  },
  SYMLINK_REFUSED: { exit: 'USAGE', program: 'both', meaning: 'A file we would open is a symbolic link we did not make.' },
  BAD_CONF_VALUE: { exit: 'USAGE', program: 'both', meaning: 'A value to be written into a PostgreSQL configuration file holds a line break or NUL.' },
  BAD_CONNINFO: {
    exit: 'USAGE',
    program: 'both',
    meaning: 'A libpq connection string (keyword/value or postgresql:// URI) cannot be read, or names no single TCP host.',
  },
  BAD_WAL_NAME: { exit: 'USAGE', program: 'both', meaning: 'A file name given is not a WAL file name PostgreSQL archives.' },
  COMPRESS_UNAVAILABLE: {
    exit: 'USAGE',
    program: 'both',
    meaning: 'The `compress` key names an algorithm whose native library (zstd-napi, lz4-napi) does not load on this machine.',
  },
  COMPRESS_CORRUPT: {
    exit: 'FAILED',
    program: 'both',
    meaning: 'Compressed data received does not decompress to the size and SHA-256 its frame announced; nothing was written.',
  },
  WIRE_PROTOCOL: {
    exit: 'FAILED',
    program: 'both',
    meaning: 'The WAL stream between cmd_archiver and its receiver on the slave (compress) carried a malformed or truncated frame.',
  },
  // Both programs: PostgreSQL.
  PG_UNREACHABLE: { exit: 'FAILED', program: 'both', meaning: 'PostgreSQL does not accept connections at the address used.' },
  PG_AUTH_FAILED: { exit: 'FAILED', program: 'both', meaning: 'PostgreSQL refused the user (password or pg_hba.conf).' },
  PG_NO_DATABASE: { exit: 'FAILED', program: 'both', meaning: 'The database named does not exist.' },
  PG_STARTING: { exit: 'FAILED', program: 'both', meaning: 'PostgreSQL is starting up or shutting down.' },
  PG_TIMEOUT: { exit: 'FAILED', program: 'both', meaning: 'PostgreSQL did not answer in time.' },
  PG_ERROR: { exit: 'FAILED', program: 'both', meaning: "Any other connection failure, with PostgreSQL's message." },
  PG_QUERY_FAILED: { exit: 'FAILED', program: 'both', meaning: 'A query failed on the server (SQLSTATE in the message).' },
  PG_NOT_RUNNING: { exit: 'FAILED', program: 'both', meaning: 'The local PostgreSQL is not running where the ini says.' },
  PG_BINARIES_KEY: {
    exit: 'USAGE',
    program: 'both',
    meaning: 'An explicit pg_ctl or pg_bin in the ini does not name usable PostgreSQL binaries (never silently replaced).',
  },
  PG_BINARIES_NOT_FOUND: {
    exit: 'FAILED',
    program: 'both',
    meaning: 'No PostgreSQL binaries (server, or a tool such as pg_verifybackup) of the needed major were found (pg_ctl / pg_bin keys).',
  },
  SHOW_SETTING_FAILED: { exit: 'FAILED', program: 'both', meaning: '`postgres -C` could not read a setting of a data directory.' },
  HELPERS_MISSING: { exit: 'FAILED', program: 'both', meaning: 'The pitrtools helper functions (sql/) are not installed on the server asked.' },
  // Both programs: SSH and SFTP.
  SSH_REFUSED: { exit: 'FAILED', program: 'both', meaning: 'The TCP connection to sshd was refused.' },
  SSH_TIMEOUT: { exit: 'FAILED', program: 'both', meaning: 'sshd did not answer within ssh_timeout.' },
  SSH_UNREACHABLE: { exit: 'FAILED', program: 'both', meaning: 'The host name does not resolve or the host is unreachable.' },
  SSH_AUTH_FAILED: { exit: 'FAILED', program: 'both', meaning: 'sshd refused every key offered.' },
  SSH_NO_IDENTITY: { exit: 'FAILED', program: 'both', meaning: 'No SSH key to log in with (ssh_identity, ssh-agent).' },
  SSH_HOSTKEY_UNKNOWN: { exit: 'FAILED', program: 'both', meaning: 'The host key is not in known_hosts (never accepted blindly).' },
  SSH_HOSTKEY_CHANGED: { exit: 'FAILED', program: 'both', meaning: 'The host key differs from the one in known_hosts.' },
  SSH_HOSTKEY_REVOKED: { exit: 'FAILED', program: 'both', meaning: 'The host key is marked @revoked in known_hosts.' },
  SSH_KNOWN_HOSTS: { exit: 'FAILED', program: 'both', meaning: 'The known_hosts file cannot be read or written.' },
  SSH_CONNECT_FAILED: { exit: 'FAILED', program: 'both', meaning: 'The SSH connection failed before login for another reason.' },
  SSH_DISCONNECTED: { exit: 'FAILED', program: 'both', meaning: 'The SSH connection or channel closed in the middle of the work.' },
  SSH_EXEC_FAILED: { exit: 'FAILED', program: 'both', meaning: 'A remote command could not be started.' },
  SSH_EXEC_TIMEOUT: { exit: 'FAILED', program: 'both', meaning: 'A remote command did not finish in time.' },
  SSH_FORWARD_FAILED: { exit: 'FAILED', program: 'both', meaning: 'sshd could not open the forwarded connection (to PostgreSQL on the other side).' },
  SFTP_NO_SUCH_FILE: { exit: 'FAILED', program: 'both', meaning: 'The remote file or directory does not exist.' },
  SFTP_PERMISSION_DENIED: { exit: 'FAILED', program: 'both', meaning: 'The remote side refused the file operation.' },
  SFTP_FAILURE: { exit: 'FAILED', program: 'both', meaning: 'A remote file operation failed (OpenSSH gives no reason).' },
  SFTP_NO_SPACE: { exit: 'FAILED', program: 'both', meaning: 'A remote write failed and statvfs says the remote filesystem is full.' },
  SFTP_UNSUPPORTED: {
    exit: 'FAILED',
    program: 'both',
    meaning: 'The SFTP server lacks an extension we need (fsync@openssh.com, posix-rename@openssh.com, ...).',
  },
  SFTP_SHORT_READ: { exit: 'FAILED', program: 'both', meaning: 'A remote file was shorter than announced while it was read.' },
  // cmd_archiver.
  ARCHIVE_FAILED: {
    exit: 'FAILED',
    program: 'cmd_archiver',
    meaning: 'The segment is NOT archived: on some slave it is neither delivered nor queued. PostgreSQL retries.',
  },
  ARCHIVE_CONFLICT: {
    exit: 'CONFLICT',
    program: 'cmd_archiver',
    meaning: "A slave (or its queue) holds a different file under the segment's name; nothing was overwritten.",
  },
  ARCHIVING_OFFLINE: {
    exit: 'OFFLINE',
    level: 'WARNING',
    program: 'cmd_archiver',
    meaning: '`state: offline`: nothing is archived; PostgreSQL keeps the WAL and retries.',
  },
  BAD_WAL_PATH: { exit: 'USAGE', program: 'cmd_archiver', meaning: '-F does not name a regular file in pgdata/pg_wal.' },
  WAL_MISSING: { exit: 'FAILED', program: 'cmd_archiver', meaning: 'The file -F names does not exist.' },
  WAL_NOT_READY: {
    exit: 'FAILED',
    program: 'cmd_archiver',
    meaning: 'The file -F names has no archive_status .ready or .done: PostgreSQL has not finished it.',
  },
  WAL_UNREADABLE: { exit: 'FAILED', program: 'cmd_archiver', meaning: 'The file -F names cannot be looked at.' },
  NO_PG_WAL: {
    exit: 'USAGE',
    program: 'cmd_archiver',
    meaning:
      'pgdata is not a data directory we can reach (-F, -I, --setup, --install-helpers; the pgdata key is wrong, or we run as another user than PostgreSQL).',
  },
  INI_NOT_WRITTEN: { exit: 'FAILED', program: 'cmd_archiver', meaning: '--stop could not rewrite the ini (state: offline) in place.' },
  RESTART_FAILED: { exit: 'FAILED', program: 'cmd_archiver', meaning: '--setup --restart: pg_ctl restart failed.' },
  QUEUE_MISSING: { exit: 'FAILED', program: 'cmd_archiver', meaning: 'l_archivedir does not exist (cmd_archiver -I creates it).' },
  QUEUE_LOCKED: { exit: 'FAILED', program: 'cmd_archiver', meaning: "A slave's queue stayed locked by another running process." },
  QUEUE_STOPPING: { exit: 'FAILED', program: 'cmd_archiver', meaning: 'cmd_queue is stopping; the segment was not delivered by it.' },
  INIT_REFUSED: { exit: 'FAILED', program: 'cmd_archiver', meaning: '-I found something it will not overwrite or cannot create.' },
  UNKNOWN_SLAVE: { exit: 'USAGE', program: 'cmd_archiver', meaning: '--reset-slave names no slave of the ini.' },
  // cmd_standby.
  NOT_A_STANDBY: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The local server is not in recovery: it already is a master.' },
  SERVER_RUNNING: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The command needs the local PostgreSQL stopped.' },
  SERVER_NOT_RUNNING: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The command needs the local PostgreSQL running.' },
  SERVER_DIED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The local server stopped while we waited for it.' },
  SERVER_WAIT_TIMEOUT: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The local server did not reach the wanted state in time.' },
  SERVER_CONF_UNREADABLE: { exit: 'USAGE', program: 'cmd_standby', meaning: "A setting of the local server's configuration cannot be read." },
  START_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The local server did not start (its FATAL line is in the message).' },
  PG_CTL_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'pg_ctl could not be run or failed.' },
  PG_SETTING_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: '`postgres -C` could not be run on the local copy.' },
  CANNOT_CREATE_DIR: { exit: 'FAILED', program: 'cmd_standby', meaning: '-I could not create a directory; nothing it made was left behind.' },
  NO_COPY: { exit: 'FAILED', program: 'cmd_standby', meaning: 'pgdata holds no copy of the master (take one with -B).' },
  COPY_INCOMPLETE: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The base backup in pgdata did not finish; run -B again.' },
  BASEBACKUP_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The base backup (-B) failed; the copy is marked incomplete.' },
  BAD_TABLESPACE_MAPPING: {
    exit: 'USAGE',
    program: 'cmd_standby',
    meaning: 'tablespace_mapping would put a tablespace inside the data directory, or cannot be read.',
  },
  MASTER_SESSION_LOST: { exit: 'FAILED', program: 'cmd_standby', meaning: "The backup's database session on the master was lost." },
  MASTER_NO_RESPONSE: { exit: 'FAILED', program: 'cmd_standby', meaning: '-P: the master did not answer.' },
  MASTER_ALIVE: { exit: 'FAILED', program: 'cmd_standby', meaning: '-F999 refused: the master still answers (split brain); --force overrides.' },
  PROMOTE_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'pg_promote() did not finish in time.' },
  FAILOVER_ACTION_MISSING: { exit: 'FAILED', program: 'cmd_standby', meaning: 'action_failover is not an executable file; nothing was promoted.' },
  FAILOVER_ACTION_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'Promoted, but action_failover failed.' },
  NO_POSTGRESQL_CONF: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The postgresql.conf the standby should use (pg_conf) does not exist.' },
  CONF_COPY_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The configured postgresql.conf / pg_hba.conf could not be put in place.' },
  BAD_SETTING: { exit: 'FAILED', program: 'cmd_standby', meaning: 'Our recovery settings file could not be written.' },
  INHERITED_SETTING: {
    exit: 'USAGE',
    program: 'cmd_standby',
    meaning: 'A setting inherited from the master (postgresql.auto.conf, an include) would win over ours.',
  },
  AUTO_CONF_NOT_A_FILE: { exit: 'USAGE', program: 'cmd_standby', meaning: 'postgresql.auto.conf is not a regular file; it is not followed or rewritten.' },
  BAD_TARGET_TIME: { exit: 'USAGE', program: 'cmd_standby', meaning: '-R: the target time cannot be read unambiguously, or PostgreSQL refuses it.' },
  TARGET_BEFORE_COPY: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '-R: the target is before the copy becomes consistent; an older base backup is needed.',
  },
  PAST_TARGET: { exit: 'FAILED', program: 'cmd_standby', meaning: '-R: the copy has already replayed past the target.' },
  COPY_START_AMBIGUOUS: { exit: 'USAGE', program: 'cmd_standby', meaning: "-R: backup_label's start time abbreviation could name several offsets." },
  TARGET_NOT_REACHED: { exit: 'FAILED', program: 'cmd_standby', meaning: '-R: recovery ended before the target; the archive lacks WAL up to it.' },
  PITR_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: '-R failed for another reason (in the message).' },
  RESTORE_IO_FAILED: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning:
      '--restore could not read the archived file or write it where PostgreSQL asked (the disk error in words); nothing was restored, PostgreSQL asks again.',
  },
  RESTORE_REJECTED: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '--restore refused a file that is incomplete or not what its name says; PostgreSQL asks again.',
  },
  ARCHIVER_CONFIG: {
    exit: 'USAGE',
    program: 'cmd_standby',
    meaning: '-F999: archiver_config (the cmd_archiver ini for this node as master) is missing, wrong, or names another pgdata; nothing was promoted.',
  },
  ARCHIVE_MODE_OFF: {
    exit: 'USAGE',
    program: 'cmd_standby',
    meaning: "-F999 with archiver_config: archive_mode is off in this server's configuration (it needs a restart); nothing was promoted.",
  },
  ARCHIVER_INIT_FAILED: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '-F999 promoted, but `cmd_archiver -I` for the new master failed; archiving is not on yet.',
  },
  NEW_MASTER_IN_RECOVERY: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '--follow / --rejoin: the server named as the new master is still a standby (promote it first, or fix master_public_ip / port).',
  },
  OTHER_CLUSTER: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '--rejoin: the new master is another cluster (its system identifier differs); a new base backup is the way.',
  },
  SWITCHOVER_REFUSED: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '--switchover refused (not streaming, not caught up, the shutdown checkpoint not replayed, promotion failed); the master runs again.',
  },
  REJOIN_FAILED: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '--switchover: this server is the new master, but the old master did not rejoin (run --rejoin there).',
  },
  REMOTE_COMMAND_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'A cmd_standby run on the master host over SSH (master_cmd_standby) failed.' },
  BAD_PG_CONTROL: { exit: 'FAILED', program: 'both', meaning: 'A pg_control file is too short or of an unknown layout.' },
  NO_TIMELINE_HISTORY: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: "--follow: the new timeline's .history file is neither in archivedir nor readable from the new master.",
  },
  REJOIN_NEEDED: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '--follow: this standby replayed past the point where the new timeline forked; it needs --rejoin.',
  },
  FOLLOW_TIMEOUT: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '--follow: the standby did not stream from, or restore the new timeline of, the new master in time.',
  },
  SLOTS_NEED_STREAMING: {
    exit: 'USAGE',
    program: 'cmd_standby',
    meaning: 'use_replication_slots is on but use_streaming_replication is off: only a streaming standby uses a slot.',
  },
  SLOT_NAME_CLASH: { exit: 'USAGE', program: 'cmd_standby', meaning: 'slot_name and wal_receiver_slot name the same slot.' },
  SLOT_IN_USE: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: "The standby's replication slot on the master is held by another connection (two standbys with one slot_name?).",
  },
  SLOT_IS_LOGICAL: { exit: 'USAGE', program: 'both', meaning: 'A slot of the wanted name exists but is a logical slot; a standby needs a physical one.' },
  SLOT_CREATE_FAILED: { exit: 'FAILED', program: 'both', meaning: 'The server refused to create the replication slot (max_replication_slots, privileges).' },
  BAD_BACKUP_LABEL: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: 'The backup_label pg_backup_stop returned cannot be read (no START TIMELINE / START WAL LOCATION).',
  },
  STANDBY_SOURCE_WAL_MISSING: {
    exit: 'FAILED',
    program: 'cmd_standby',
    meaning: '-B from a standby: the WAL the copy needs did not reach archivedir within backup_wal_timeout; the copy stays incomplete.',
  },
  NO_FULL_BACKUP: { exit: 'USAGE', program: 'cmd_standby', meaning: 'The backup catalogue commands need full_backup (the catalogue directory) in the ini.' },
  BACKUP_FAILED: { exit: 'FAILED', program: 'cmd_standby', meaning: '--backup failed; no set was added and none removed.' },
  NO_SUCH_BACKUP: { exit: 'FAILED', program: 'cmd_standby', meaning: 'No backup set of that label in the catalogue (--list-backups shows them).' },
  RESTORE_TARGET_NOT_EMPTY: { exit: 'FAILED', program: 'cmd_standby', meaning: '--restore-backup copies a set only into an empty directory.' },
  RECEIVEWAL_MISSING: { exit: 'USAGE', program: 'cmd_standby', meaning: 'wal_receiver is on but pg_receivewal is not executable.' },
  RECEIVEWAL_NOT_STARTED: { exit: 'FAILED', program: 'cmd_standby', meaning: 'The WAL receiver (pg_receivewal) did not start.' },
} as const satisfies Record<string, ErrorSpec>;

/** A registered error code. */
export type ErrorCodeName = keyof typeof ERRORS;

/** True when `code` is a registered error code (for codes that cross a process boundary). */
export function isErrorCode(code: unknown): code is ErrorCodeName {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** The label the exit point prints before the message (ERROR or WARNING). */
export function levelOf(code: ErrorCodeName): 'ERROR' | 'WARNING' {
  const spec: ErrorSpec = ERRORS[code];
  return spec.level ?? 'ERROR';
}

/** The exit code a registered error code maps to. */
export function exitCodeOf(code: ErrorCodeName): ExitCodeValue {
  return ExitCode[ERRORS[code].exit];
}

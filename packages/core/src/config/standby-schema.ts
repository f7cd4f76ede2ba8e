/**
 * Keys of cmd_standby.ini. Order matters: it is the order of the sample file and of --help.
 * To add a key, add one entry; the typed StandbyConfig follows from this list.
 */
import { COMPAT, alertKeySpecs, checkCompress, debugKey, legacySshKey, rsyncFlagsKey, sshKeySpecs } from './common-schema.js';
import type { KeySpec } from './schema.js';
import { parseTablespaceMapping } from './tablespace-mapping.js';
import { slotNameError } from '../pg/slots.js';

/** A slot name key's check: PostgreSQL's rule for slot names. */
function slotCheck(v: string): { error: string } | undefined {
  const e = slotNameError(v);
  return e === undefined ? undefined : { error: e };
}

const REWRITE = 'the TypeScript rewrite';
const NO_RSYNC = '-B copies over the built-in SSH connection; rsync is not run';

/** Every key cmd_standby.ini may contain. */
export const STANDBY_KEYS = [
  {
    name: 'master_public_ip',
    type: 'string',
    group: 'Master',
    required: true,
    example: 'db-master.example.net',
    doc: 'Host name or IP address of the master, for SSH (and for streaming replication).',
  },
  {
    name: 'user',
    type: 'string',
    group: 'Master',
    required: true,
    example: 'postgres',
    doc: 'SSH user on the master; also the database user there unless master_db_user is set.',
  },
  {
    name: 'port',
    type: 'int',
    group: 'Master',
    default: '5432',
    min: 1,
    max: 65535,
    doc: "Port of the master's PostgreSQL.",
  },
  {
    name: 'master_local_ip',
    type: 'string',
    group: 'Master',
    default: '127.0.0.1',
    doc:
      "Address at which the master's PostgreSQL listens as seen from the master itself; " +
      'the database sessions of -I, -B and -P reach it through the SSH connection.',
  },
  {
    name: 'master_db_user',
    type: 'string',
    group: 'Master',
    defaultFrom: { key: 'user' },
    defaultText: 'the value of user',
    example: 'postgres',
    doc: 'Database user for the sessions on the master (-I, -B, -P).',
  },
  {
    name: 'master_db',
    type: 'string',
    group: 'Master',
    default: 'postgres',
    doc: 'Database on the master those sessions connect to.',
  },
  ...sshKeySpecs('master', '30'),
  {
    name: 'pgdata',
    type: 'path',
    group: 'Local server',
    required: true,
    example: '/var/lib/postgresql/15/main',
    doc: "Data directory of this standby's PostgreSQL: -I creates it, -B fills it.",
  },
  {
    name: 'archivedir',
    type: 'path',
    group: 'Local server',
    required: true,
    example: '/var/lib/postgresql/archive',
    doc:
      'Where the archiver delivers segments on this host (its r_archivedir); the standby restores WAL from here. ' +
      'It must be a directory of this user that no other user can write to (not a symbolic link): ' +
      '--restore, --cleanup and -I refuse it otherwise (exit 2).',
  },
  {
    name: 'pg_ctl',
    type: 'path',
    group: 'Local server',
    example: '/usr/lib/postgresql/15/bin/pg_ctl',
    doc:
      'The local pg_ctl; initdb and postgres are looked for in its directory. Without pg_ctl or pg_bin, ' +
      "includepath, PATH and /usr/lib/postgresql/<major>/bin are searched for the master's major version. " +
      'When set, it is used or refused (exit 2, naming the key: not executable, no postgres beside it, another ' +
      "major than the master's), never replaced by what the search finds.",
  },
  {
    name: 'pg_bin',
    type: 'path',
    group: 'Local server',
    example: '/usr/lib/postgresql/15/bin',
    doc:
      'Directory of the local server binaries (pg_ctl, postgres, initdb); an alternative to pg_ctl, and like it ' +
      'used or refused (exit 2, naming the key), never replaced by what the search finds.',
  },
  {
    name: 'logfile',
    type: 'path',
    group: 'Local server',
    example: '/var/log/postgresql/standby.log',
    defaultText: 'pitrtools-server.log in pgdata',
    doc: 'Server log file passed to pg_ctl -l when cmd_standby starts the server; -S, -F999 and -R read ' + 'the FATAL lines of a failed start from it.',
  },
  {
    name: 'use_streaming_replication',
    type: 'bool',
    group: 'Replication',
    default: 'off',
    doc: 'on: also stream WAL from the master (primary_conninfo), with archivedir as the fallback. ' + 'off: replay archived segments only (a warm standby).',
  },
  {
    name: 'repl_db_user',
    type: 'string',
    group: 'Replication',
    default: 'replication',
    doc: 'User of the streaming replication connection.',
  },
  {
    name: 'repl_db_password',
    type: 'string',
    group: 'Replication',
    secret: true,
    doc: 'Its password; leave unset to use ~/.pgpass or PGPASSWORD. Never printed or logged.',
  },
  {
    name: 'sslmode',
    type: 'enum',
    group: 'Replication',
    default: 'prefer',
    values: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
    doc: 'libpq sslmode of the streaming replication connection.',
  },
  {
    name: 'use_replication_slots',
    type: 'bool',
    group: 'Replication',
    default: 'off',
    doc:
      'With use_streaming_replication: -S creates (if absent) a physical replication slot on the master, named by slot_name, ' +
      'and streams through it (primary_slot_name), so the master keeps every segment this standby has not received yet, ' +
      'even while it is down. Set max_slot_wal_keep_size on the master so that a dead standby cannot fill its disk; ' +
      "--check reports what each slot holds back. As repmgr's key of the same name.",
  },
  {
    name: 'slot_name',
    type: 'string',
    group: 'Replication',
    example: 'pitrtools_standby1',
    defaultText: 'pitrtools_<this host name>',
    doc:
      'The slot use_replication_slots creates on the master and streams through: lower-case letters, digits and _, ' +
      'at most 63 bytes. Every standby of a master needs its own (set it when two standbys share a host name). ' +
      "Not the WAL receiver's slot (wal_receiver_slot): each holds WAL for its own consumer.",
    check: (v: string) => slotCheck(v),
  },
  {
    name: 'wal_receiver',
    type: 'bool',
    group: 'Replication',
    default: 'off',
    doc:
      "on: -S (and -A start) also starts a supervised pg_receivewal that streams the master's WAL through the SSH " +
      'connection into archivedir, holding a replication slot on the master, so that -F999 and -R can use the segment ' +
      'the master was still writing when it died (seconds of loss instead of up to a segment or archive_timeout). ' +
      'Complete segments are added to archivedir without ever replacing a file; the segment in progress stays in ' +
      'archivedir/.receivewal as NAME.partial. Uses repl_db_user, repl_db_password and sslmode.',
  },
  {
    name: 'wal_receiver_slot',
    type: 'string',
    group: 'Replication',
    example: 'pitrtools_recv_standby1',
    doc:
      'The physical replication slot the WAL receiver creates (if missing) and uses on the master; default ' +
      'pitrtools_recv_<this host name>. The master keeps the WAL the slot has not received: set max_slot_wal_keep_size there.',
    check: (v: string) => slotCheck(v),
  },
  {
    name: 'pg_receivewal',
    type: 'path',
    group: 'Replication',
    example: '/usr/lib/postgresql/15/bin/pg_receivewal',
    doc: "The pg_receivewal to run; default: the one beside the local server binaries. It must be of the master's major " + 'version or newer.',
  },
  {
    name: 'rsync_threads',
    type: 'int',
    group: 'Base backup (-B)',
    default: '4',
    min: 1,
    max: 64,
    doc: 'How many files -B copies in parallel, each on its own SFTP channel of the one SSH connection.',
  },
  {
    name: 'compress',
    type: 'string',
    group: 'Base backup (-B)',
    defaultText: 'none',
    example: 'none',
    doc:
      'Compression of -B on the wire: none, lz4, zstd or zstd:LEVEL (1-19). With it -B sends every file through the block sender ' +
      '(master_cmd_standby --send-files over SSH), compressed; without it only files this standby already has a copy of go through ' +
      'the sender (only the blocks that differ), the others over SFTP as they are. What lands on disk is the plain file either way.',
    check: checkCompress,
  },
  {
    name: 'backup_wal_timeout',
    type: 'seconds',
    group: 'Base backup (-B)',
    default: '600',
    min: 1,
    doc:
      '-B from a standby (master_public_ip/port name a server in recovery): how long -B waits, after the backup ended, ' +
      "for every WAL segment from the backup's start to its stop LSN to arrive in archivedir from the master's cmd_archiver " +
      '(a standby does not archive for its backups). Past it -B fails, names the missing segment and leaves the copy marked incomplete.',
  },
  {
    name: 'tablespace_mapping',
    type: 'list',
    group: 'Base backup (-B)',
    example: '/srv/ts1=/data/ts1',
    doc:
      'Put tablespaces elsewhere on this host: OLDDIR=NEWDIR pairs, comma separated, both absolute, ' +
      'as pg_basebackup --tablespace-mapping (write \\= for an = inside a directory name).',
    check: (items: string[]) => {
      for (const item of items) {
        const m = parseTablespaceMapping(item);
        if ('error' in m) return { error: m.error };
      }
      return undefined;
    },
  },
  {
    name: 'full_backup',
    type: 'path',
    group: 'Backup catalogue (--backup)',
    example: '/var/lib/postgresql/backups',
    doc:
      "Catalogue of base backups (walmgr's full_backup): --backup adds a set <label>/ here (created 0700), --list-backups, " +
      '--verify-backup and --restore-backup read it, and archive cleanup keeps the WAL its sets need. See docs/backups.md.',
  },
  {
    name: 'keep_backups',
    type: 'int',
    group: 'Backup catalogue (--backup)',
    default: '2',
    min: 1,
    max: 1000,
    doc:
      'How many sets --backup keeps: after a new set is complete, the oldest beyond this many are removed, ' +
      'and with them the archived WAL that no kept set needs.',
  },
  {
    name: 'pg_conf',
    type: 'path',
    group: 'Configuration files',
    example: '/etc/pitrtools/standby/postgresql.conf',
    doc: 'postgresql.conf for standby mode: -S copies it into pgdata (or points the server at it, see no_copy_conf).',
  },
  {
    name: 'pg_hba_conf',
    type: 'path',
    group: 'Configuration files',
    example: '/etc/pitrtools/standby/pg_hba.conf',
    doc: 'pg_hba.conf for standby mode, used like pg_conf.',
  },
  {
    name: 'pg_conf_failover',
    type: 'path',
    group: 'Configuration files',
    example: '/etc/pitrtools/failover/postgresql.conf',
    doc: 'postgresql.conf to switch to when -F999 promotes this standby.',
  },
  {
    name: 'pg_hba_conf_failover',
    type: 'path',
    group: 'Configuration files',
    example: '/etc/pitrtools/failover/pg_hba.conf',
    doc: 'pg_hba.conf to switch to when -F999 promotes this standby.',
  },
  {
    name: 'no_copy_conf',
    type: 'bool',
    group: 'Configuration files',
    default: 'off',
    doc:
      'on: leave pg_conf and pg_hba_conf (and the _failover ones at -F999) where they are: pgdata/postgresql.conf ' +
      'becomes a short stub whose `include` names pg_conf and whose hba_file names pg_hba_conf, so an edit of those ' +
      'files takes effect at the next reload. off: -S and -F999 copy them into pgdata (atomically).',
  },
  {
    name: 'action_failover',
    type: 'path',
    group: 'Failover',
    example: '/usr/local/bin/pitr-failover',
    doc: 'Executable run after a successful -F999 (e.g. to move a service address); it must exit 0.',
  },
  {
    name: 'archiver_config',
    type: 'path',
    group: 'Failover',
    example: '/etc/pitrtools/cmd_archiver.ini',
    doc:
      'The cmd_archiver.ini this node uses once it is the master, listing the other standbys as slaves (its pgdata ' +
      'must be this pgdata). -F999 checks it before promoting, runs cmd_archiver -I where its queues do not exist yet, ' +
      'and after the promotion turns archiving on with ALTER SYSTEM SET archive_command + pg_reload_conf(). ' +
      'archive_mode cannot change without a restart: it must already be on in pg_conf (or pg_conf_failover); ' +
      'a standby does not archive until promoted.',
  },
  {
    name: 'cmd_archiver',
    type: 'path',
    group: 'Failover',
    example: '/usr/local/bin/cmd_archiver',
    defaultText: 'the cmd_archiver installed with this cmd_standby',
    doc: 'The cmd_archiver (the sh front end) that archiver_config is used with: -F999 runs its -I and puts it into archive_command.',
  },
  {
    name: 'master_cmd_standby',
    type: 'command',
    group: 'Failover',
    default: 'cmd_standby',
    example: '/usr/bin/node /opt/pitrtools/packages/standby/bin/cmd_standby.js',
    doc:
      'cmd_standby on the master host, run over SSH (words split as in notify_ok, each quoted for the remote shell): -B runs its block ' +
      'sender there (--send-files) for every re-sync and, with compress, for every file (when it cannot start, -B says so and copies ' +
      'over SFTP); --switchover stops the master (-A stop), starts it again when the switchover is refused (-A start), and makes it rejoin (--rejoin).',
  },
  {
    name: 'master_standby_config',
    type: 'string',
    group: 'Failover',
    example: '/etc/pitrtools/cmd_standby.ini',
    doc:
      'For --switchover: the path, on the master host, of the cmd_standby ini that makes the master a standby of this host ' +
      "(its master_public_ip names this host, its pgdata is the master's data directory).",
  },
  ...alertKeySpecs({
    ok: 'an operation succeeds (e.g. a failover is done)',
    warning: 'something needs attention (e.g. replication lags)',
    critical: 'an operation fails (e.g. the master does not answer to -P)',
  }),
  {
    name: 'check_lag_warn_bytes',
    type: 'bytes',
    group: 'Monitoring (--check)',
    default: '16MB',
    doc:
      "cmd_standby --check reports WARNING when the master's pg_current_wal_lsn() (asked through SSH) is at least " +
      "this many bytes ahead of this standby's pg_last_wal_replay_lsn().",
  },
  {
    name: 'check_lag_critical_bytes',
    type: 'bytes',
    group: 'Monitoring (--check)',
    default: '256MB',
    doc:
      "cmd_standby --check reports CRITICAL when the master's pg_current_wal_lsn() (asked through SSH) is at least " +
      "this many bytes ahead of this standby's pg_last_wal_replay_lsn().",
  },
  {
    name: 'check_lag_warn_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '300',
    min: 0,
    doc:
      "cmd_standby --check reports WARNING when, with replay behind the master's pg_current_wal_lsn(), this " +
      "standby's now() minus pg_last_xact_replay_timestamp() (the master's commit time of the last replayed " +
      "transaction) is at least this; 0 s while replay is caught up, however old that transaction. Compares two hosts' clocks.",
  },
  {
    name: 'check_lag_critical_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '1800',
    min: 0,
    doc:
      "cmd_standby --check reports CRITICAL when, with replay behind the master's pg_current_wal_lsn(), this " +
      "standby's now() minus pg_last_xact_replay_timestamp() (the master's commit time of the last replayed " +
      "transaction) is at least this; 0 s while replay is caught up, however old that transaction. Compares two hosts' clocks.",
  },
  {
    name: 'check_slot_warn_bytes',
    type: 'bytes',
    group: 'Monitoring (--check)',
    default: '1GB',
    doc:
      'cmd_standby --check reports WARNING when a replication slot on the master holds back this much WAL while in use, ' +
      'and CRITICAL when an unused (inactive) slot does: nothing will consume it and it only grows.',
  },
  {
    name: 'check_slot_critical_bytes',
    type: 'bytes',
    group: 'Monitoring (--check)',
    default: '4GB',
    doc: 'cmd_standby --check reports CRITICAL when a replication slot on the master holds back this much WAL, in use or not.',
  },
  {
    name: 'check_replay_stuck_warn_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '300',
    min: 0,
    doc: 'cmd_standby --check reports WARNING when replay has not moved for this long while the master is more than one WAL segment ahead of it (paused replay excepted).',
  },
  {
    name: 'check_replay_stuck_critical_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '900',
    min: 0,
    doc: 'The same, CRITICAL.',
  },
  {
    name: 'check_receiver_warn_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '0',
    min: 0,
    doc: 'With use_streaming_replication: cmd_standby --check reports WARNING when the WAL receiver has not been streaming for this long (0: at once).',
  },
  {
    name: 'check_receiver_critical_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '300',
    min: 0,
    doc: 'The same, CRITICAL.',
  },
  {
    name: 'check_master_warn_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '0',
    min: 0,
    doc: 'cmd_standby --check reports WARNING when the master has not answered (SSH, then its PostgreSQL, within ssh_timeout) for this long (0: at once); the lag is then unknown, never OK.',
  },
  {
    name: 'check_master_critical_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '300',
    min: 0,
    doc: 'The same, CRITICAL.',
  },
  {
    name: 'check_restore_warn_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    min: 0,
    example: '3600',
    doc: 'cmd_standby --check reports WARNING when the newest segment restored from archivedir is older than this. Off when unset (a streaming standby restores nothing); for an archive-only standby, a few times archive_timeout.',
  },
  {
    name: 'check_restore_critical_seconds',
    type: 'seconds',
    group: 'Monitoring (--check)',
    min: 0,
    example: '7200',
    doc: 'The same, CRITICAL.',
  },
  debugKey,
  {
    name: 'includepath',
    type: 'paths',
    separator: ':',
    group: COMPAT,
    example: '/usr/lib/postgresql/15/bin:/usr/bin',
    doc: 'Colon-separated directories searched (before PATH) for the local server binaries ' + 'when neither pg_ctl nor pg_bin is set.',
    legacy: { kind: 'note', note: 'From pitrtools 1.3; pg_bin is the simpler way to name one directory' },
  },
  {
    name: 'pgversion',
    type: 'string',
    group: COMPAT,
    example: '15',
    doc: 'Major version of PostgreSQL.',
    legacy: { kind: 'ignored', since: REWRITE, reason: "the server's version is read at run time" },
  },
  {
    name: 'numarchives',
    type: 'string',
    group: COMPAT,
    example: '10',
    doc: 'Number of archived segments to keep (PostgreSQL 8.2 and older).',
    legacy: { kind: 'ignored', since: 'PostgreSQL 8.3', reason: 'replayed segments are removed from archivedir by cmd_standby' },
  },
  {
    name: 'trigger_file',
    type: 'string',
    group: COMPAT,
    example: '/var/lib/postgresql/pitr/cmd_end_recovery',
    doc: 'File whose creation ended recovery.',
    legacy: { kind: 'ignored', since: 'PostgreSQL 16', reason: 'promote_trigger_file is gone; -F999 promotes with pg_promote()' },
  },
  legacySshKey,
  {
    name: 'rsync',
    type: 'string',
    group: COMPAT,
    example: '/usr/bin/rsync',
    doc: 'Path of rsync.',
    legacy: { kind: 'ignored', since: REWRITE, reason: NO_RSYNC },
  },
  rsyncFlagsKey(NO_RSYNC),
  {
    name: 'pg_standby',
    type: 'string',
    group: COMPAT,
    example: '/usr/lib/postgresql/13/bin/pg_standby',
    doc: 'Path of pg_standby.',
    legacy: { kind: 'ignored', since: 'PostgreSQL 14', reason: 'contrib pg_standby is gone; restore_command runs cmd_standby itself' },
  },
  {
    name: 'pg_archivecleanup',
    type: 'string',
    group: COMPAT,
    example: '/usr/lib/postgresql/15/bin/pg_archivecleanup',
    doc: 'Path of pg_archivecleanup.',
    legacy: { kind: 'ignored', since: REWRITE, reason: 'cmd_standby removes replayed segments from archivedir itself' },
  },
  {
    name: 'r_psql',
    type: 'string',
    group: COMPAT,
    example: '/usr/bin/psql',
    doc: 'Path of psql on the master.',
    legacy: { kind: 'ignored', since: REWRITE, reason: 'queries reach the master through the SSH connection with a built-in client' },
  },
  {
    name: 'recovery_conf',
    type: 'string',
    group: COMPAT,
    example: '/var/lib/postgresql/15/main/recovery.conf',
    doc: 'The recovery.conf file to write.',
    legacy: {
      kind: 'ignored',
      since: 'PostgreSQL 12',
      level: 'warning',
      reason: 'recovery.conf is gone and a server refuses to start with one; cmd_standby writes standby.signal and the recovery settings itself',
    },
  },
  {
    name: 'path',
    type: 'string',
    group: COMPAT,
    example: '/usr/bin:/usr/local/bin:/bin',
    doc: 'Listed in the 1.3 sample as the search path for psql.',
    legacy: { kind: 'ignored', reason: 'it was never read (includepath was)' },
  },
] as const satisfies readonly KeySpec[];

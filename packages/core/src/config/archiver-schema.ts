/**
 * Keys of cmd_archiver.ini. Order matters: it is the order of the sample file and of --help.
 * To add a key, add one entry; the typed ArchiverConfig follows from this list.
 */
import { COMPAT, alertKeySpecs, checkCompress, debugKey, legacySshKey, rsyncFlagsKey, sshKeySpecs } from './common-schema.js';
import type { KeySpec } from './schema.js';

const REWRITE = 'the TypeScript rewrite';
const NO_RSYNC = 'segments are shipped over the built-in SSH connection (SFTP, fsynced, renamed atomically); rsync is not run';

/** Every key cmd_archiver.ini may contain. */
export const ARCHIVER_KEYS = [
  {
    name: 'state',
    type: 'enum',
    group: 'Archiving',
    values: ['online', 'offline'],
    default: 'online',
    doc:
      'online ships every segment. offline refuses to archive (exit code 3) so that PostgreSQL keeps the WAL ' +
      'in pg_wal and retries: a way to pause shipping without restarting PostgreSQL.',
  },
  {
    name: 'pgdata',
    type: 'path',
    group: 'Archiving',
    required: true,
    example: '/var/lib/postgresql/15/main',
    doc: "The master's data directory; the %p that archive_command passes is relative to it.",
  },
  {
    name: 'l_archivedir',
    type: 'path',
    group: 'Archiving',
    required: true,
    example: '/var/lib/postgresql/pitr/queue',
    doc:
      'Local directory with one queue per slave: a segment a slave could not take waits in ' +
      'l_archivedir/<slave>/ until it is back. cmd_archiver -I creates it (0700). It must be a directory ' +
      'of the database user that no other user can write to (not a symbolic link): every run that writes ' +
      'there checks it and refuses otherwise (exit 2).',
  },
  {
    name: 'r_archivedir',
    type: 'path',
    group: 'Archiving',
    required: true,
    perSlave: true,
    example: '/var/lib/postgresql/archive',
    doc: "Directory on the slaves that receives the segments; the standby's archivedir must name the same place.",
  },
  {
    name: 'remote_dir_fsync',
    type: 'bool',
    group: 'Archiving',
    default: 'on',
    perSlave: true,
    doc:
      'on: after a segment is renamed into r_archivedir, the directory is fsynced too (fsync@openssh.com on the ' +
      'opened directory), and a slave where that fails counts as not delivered: the segment is queued and an alert ' +
      'names the step. off: skip the directory fsync for this slave, for an SFTP server that can never open a ' +
      'directory; the rename may then be lost in a crash of the slave. Every run that uses it logs a WARNING.',
  },
  {
    name: 'compress',
    type: 'string',
    group: 'Archiving',
    default: 'none',
    perSlave: true,
    example: 'zstd',
    check: checkCompress,
    doc:
      'Compression on the wire: none, lz4, zstd or zstd:LEVEL (1-19; zstd is level 1). Not none: segments go through ' +
      'a receiver that cmd_archiver starts on the slave over SSH (slave_cmd_standby --receive-wal-stream), which ' +
      'decompresses, checks and stores them durably; the slave gets plain WAL. When the receiver cannot start there, ' +
      'segments go uncompressed over SFTP (one WARNING per run). An old rsync_flags that asks rsync for compression (-z) turns it on when compress is not set.',
  },
  {
    name: 'slaves',
    type: 'list',
    group: 'Archiving',
    required: true,
    example: 'standby1, standby2:2222',
    doc:
      'The standbys to ship to, comma separated: host, host:port, [IPv6]:port or a bare IPv6 address. ' +
      'Each has a queue named after it (host_port when the entry names a port: the name logs, alerts and ' +
      'PITR_SLAVE use; -I and -C show both) and may have its own section, named exactly like the entry.',
  },
  {
    name: 'user',
    type: 'string',
    group: 'Archiving',
    perSlave: true,
    example: 'postgres',
    defaultFrom: { env: 'username' },
    defaultText: 'the current OS user',
    doc: 'SSH user on the slaves.',
  },
  ...sshKeySpecs('slave', '10'),
  {
    name: 'slave_deadline',
    type: 'seconds',
    group: 'SSH',
    default: '20',
    min: 1,
    perSlave: true,
    doc:
      'Longest one archive_command run (and one cmd_queue answer) waits for a slave, for all of its work on ' +
      "it: connecting, older queued segments and the new one. Past it the segment is put in that slave's queue " +
      '(fsynced; the run still exits 0) and cmd_queue ships it in the background at whatever rate the link ' +
      'allows, so a slow slave never holds PostgreSQL or the other slaves. The default leaves room for a ' +
      "handshake that takes all of ssh_timeout's default (10 s) plus a 16 MiB segment at 16 Mbit/s; raise it " +
      'for a slave that is slow but must stay in step.',
  },
  {
    name: 'queue_wait',
    type: 'seconds',
    group: 'Queue',
    default: '30',
    min: 1,
    doc: 'How often the queue runner retries the slaves whose queue is not empty.',
  },
  {
    name: 'max_queue_workers',
    type: 'int',
    group: 'Queue',
    default: '4',
    min: 1,
    max: 64,
    doc: 'How many slaves the queue runner serves at the same time.',
  },
  {
    name: 'queue_warn_bytes',
    type: 'bytes',
    group: 'Queue',
    default: 'unlimited',
    example: '1GB',
    doc:
      "Run notify_warning (and --check reports WARNING) when a slave's queue reaches this size (>=), once per " +
      'crossing, even when the next segment would pass queue_max_bytes; unlimited switches the alert off.',
  },
  {
    name: 'queue_critical_bytes',
    type: 'bytes',
    group: 'Queue',
    default: 'unlimited',
    example: '8GB',
    doc:
      "Run notify_critical (and --check reports CRITICAL) when a slave's queue reaches this size (>=), once per " +
      'crossing, even when the next segment would pass queue_max_bytes; unlimited switches the alert off.',
  },
  {
    name: 'queue_max_bytes',
    type: 'bytes',
    group: 'Queue',
    default: 'unlimited',
    example: '32GB',
    doc:
      "Largest a slave's queue may grow to protect the master's disk. Past it the queue is deleted, " +
      'notify_critical runs and the slave is detached until `cmd_archiver -C ini --reset-slave NAME`; it then ' +
      'needs a new base backup (cmd_standby -B). unlimited never drops.',
  },
  {
    name: 'queue_alert_repeat',
    type: 'seconds',
    group: 'Queue',
    default: '1h',
    min: 1,
    doc: 'While a slave stays unreachable, repeat its notify_critical alert this often (the first one comes ' + 'when its first segment is queued).',
  },
  {
    name: 'queue_drain_budget',
    type: 'seconds',
    group: 'Queue',
    default: '10',
    min: 0,
    doc:
      "How long one cmd_archiver run may spend delivering a slave's older queued segments before the " +
      'new one; what is left waits for cmd_queue, and the new segment is queued behind it to keep WAL order. ' +
      'Bounds how long PostgreSQL waits after an outage.',
  },
  {
    name: 'warm_path',
    type: 'bool',
    group: 'Queue',
    default: 'on',
    doc:
      'on: cmd_queue (started by cmd_archiver when needed) keeps one SSH connection per slave open, ships ' +
      'segments PostgreSQL has marked .ready ahead of time and leaves proof markers that cmd_archiver answers from. ' +
      'off: every cmd_archiver run connects and ships by itself (slower; cmd_queue then only delivers queues).',
  },
  {
    name: 'upload_lanes',
    type: 'int',
    group: 'Queue',
    default: '3',
    min: 1,
    max: 16,
    doc:
      'How many segments cmd_queue uploads to one slave at the same time, each over its own SFTP channel ' +
      'of the one SSH connection. With compress, the most WAL receiver channels per slave; a second one ' +
      'opens only while the open ones are limited by their SSH channel window (a long fat path).',
  },
  ...alertKeySpecs({
    ok: 'a problem is over (a slave is back and its queue has drained, archiving is online again)',
    warning: "archiving is switched off (state: offline), or a slave's queue passes queue_warn_bytes",
    critical:
      'a slave cannot be reached (its segments are being queued), a slave already holds a different file ' +
      "under a segment's name, a queue passes queue_critical_bytes or is dropped",
  }),
  {
    name: 'check_queue_warn_age',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '300',
    min: 0,
    doc: "cmd_archiver --check reports WARNING when the oldest segment in a slave's queue is older than this.",
  },
  {
    name: 'check_queue_critical_age',
    type: 'seconds',
    group: 'Monitoring (--check)',
    default: '1800',
    min: 0,
    doc: "cmd_archiver --check reports CRITICAL when the oldest segment in a slave's queue is older than this.",
  },
  {
    name: 'slave_config',
    type: 'string',
    group: 'Monitoring (--check)',
    perSlave: true,
    example: '/etc/pitrtools/cmd_standby.ini',
    doc:
      "The slave's own cmd_standby.ini, as a path on the slave (walmgr's slave_config). When set, cmd_archiver --status " +
      'runs `cmd_standby -C <it> --check --json` on the slave over SSH and shows its verdict.',
  },
  {
    name: 'slave_cmd_standby',
    type: 'string',
    group: 'Monitoring (--check)',
    perSlave: true,
    default: 'cmd_standby',
    doc:
      "The cmd_standby command on the slave for --status and, with compress, for the WAL receiver (found through the SSH login shell's PATH " +
      'unless absolute).',
  },
  debugKey,
  legacySshKey,
  {
    name: 'rsync_bin',
    type: 'string',
    group: COMPAT,
    example: '/usr/bin/rsync',
    doc: 'Path of rsync.',
    legacy: { kind: 'ignored', since: REWRITE, reason: NO_RSYNC },
  },
  rsyncFlagsKey(NO_RSYNC),
  {
    name: 'rsync_version',
    type: 'string',
    group: COMPAT,
    example: '3',
    doc: 'Major version of rsync (2 or 3).',
    legacy: { kind: 'ignored', since: REWRITE, reason: NO_RSYNC },
  },
  {
    name: 'includepath',
    type: 'string',
    group: COMPAT,
    example: '/usr/bin:/bin',
    doc: 'Directories searched for rsync and ssh.',
    legacy: { kind: 'ignored', since: REWRITE, reason: 'cmd_archiver runs no external programs besides the notify_* hooks' },
  },
  {
    name: 'queue_user',
    type: 'string',
    group: COMPAT,
    example: 'postgres',
    doc: 'User that ran cmd_queue.',
    legacy: { kind: 'ignored', since: REWRITE, reason: "the queue runner runs as cmd_archiver's own user" },
  },
  {
    name: 'pgcontroldata',
    type: 'string',
    group: COMPAT,
    example: '/usr/lib/postgresql/15/bin/pg_controldata',
    doc: 'Path of pg_controldata.',
    legacy: { kind: 'ignored', reason: 'it was never used' },
  },
] as const satisfies readonly KeySpec[];

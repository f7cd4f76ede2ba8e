/**
 * Every flag of cmd_standby, its group in --help and its description: the one table the yargs
 * parser (cli.ts) and the generated help (docs/cmd_standby.md, by scripts/gen-docs.mjs) come from.
 * yargs has no placeholder names, so a value's shape opens its description ("FILE: ...").
 */
import type { Options } from 'yargs';

/** The --help groups, in the order they are printed. */
export const GROUPS = { actions: 'Actions (one per run):', with: 'With an action:', general: 'Options:' } as const;

/** One flag: yargs' options plus the group it is listed under. */
export interface StandbyOption extends Options {
  group: (typeof GROUPS)[keyof typeof GROUPS];
  describe: string;
  /** How messages name it when not by its alias (-F999). */
  label?: string;
  /** The actions (keys of this table) it means something with; refused without one of them ("X goes with Y"). */
  with?: readonly string[];
}

const A = GROUPS.actions;
const W = GROUPS.with;
const G = GROUPS.general;

/** The flags, in --help order. --patroni-replica is read by patroni-args.ts; it is here for --help. */
export const STANDBY_OPTIONS: Readonly<Record<string, StandbyOption>> = {
  dbinit: {
    alias: 'I',
    type: 'boolean',
    group: A,
    describe: 'Prepare this host: create pgdata, the tablespace directories and archivedir (0700). Asks the master over SSH; needs the helpers.',
  },
  basebackup: {
    alias: 'B',
    type: 'boolean',
    group: A,
    describe:
      'Base backup of the master into pgdata over SSH (rsync_threads parallel streams). Over an existing copy only files whose size or mtime differ (--checksum: contents) are looked at, and of those only the 8 KiB blocks that differ are sent (by master_cmd_standby --send-files on the master); compress: lz4 | zstd[:LEVEL] in the ini compresses what is sent. The local server must be stopped.',
  },
  backup: {
    type: 'boolean',
    group: A,
    describe:
      'Base backup of the master into the catalogue (full_backup) as a new set <full_backup>/<label>/ with a backup_manifest; then the oldest sets beyond keep_backups and the WAL no kept set needs are removed.',
  },
  'list-backups': {
    type: 'boolean',
    group: A,
    describe:
      "The sets of the catalogue: LSNs, times, size, source, verified, and the times each can be recovered to with archivedir's WAL (--json: an array, oldest first).",
  },
  'verify-backup': {
    type: 'string',
    group: A,
    describe: "[LABEL]: pg_verifybackup (of the set's major) on every set or one, with the WAL from archivedir; recorded in the set. Exit 1 if one fails.",
  },
  'restore-backup': {
    type: 'string',
    group: A,
    describe: 'LABEL: copy a set into pgdata or --into DIR (empty), tablespaces mapped as -B does; then -S, or -F999 -R for a point in time.',
  },
  standby: {
    alias: 'S',
    type: 'boolean',
    group: A,
    describe:
      'Start the copy as a standby: restore from archivedir (and stream from the master with use_streaming_replication, through a slot on the master with use_replication_slots).',
  },
  failover: {
    label: '-F999',
    alias: 'F',
    type: 'string',
    group: A,
    describe:
      "999 (as in pitrtools 1.x: -F999, the only value): promote this standby to a master. Refused while the master's PostgreSQL still answers (split brain) unless --force. With archiver_config it ships its WAL to the other standbys at once.",
  },
  follow: {
    type: 'boolean',
    group: A,
    describe:
      'Re-point this standby (running or stopped) at the new master after a failover: checks from the new master\'s timeline history that it has not replayed past the fork (else exit 1, "a rejoin is needed"), rewrites primary_conninfo, reloads, follows the latest timeline and waits until it streams from (or restores the new timeline of) it. The new master is the ini\'s master_public_ip/ssh_port/port, or --master.',
  },
  rejoin: {
    type: 'boolean',
    group: A,
    describe:
      'On an old master (ini naming the new master): make it a standby of the new master. A clean stop before the fork needs nothing; else pg_rewind through SSH (needs wal_log_hints = on or data checksums, and pg_rewind of the same major), else the delta -B. Then starts it as a standby. A running server is refused unless --force.',
  },
  switchover: {
    type: 'boolean',
    group: A,
    describe:
      "On a streaming standby: planned swap with the master, no loss. Checks it is caught up, stops the master (master_cmd_standby -C master_standby_config -A stop over SSH), checks it replayed the master's shutdown checkpoint (else restarts the master and refuses), promotes, then runs --rejoin on the old master.",
  },
  ping: {
    alias: 'P',
    type: 'boolean',
    group: A,
    describe: "Does the master's PostgreSQL answer (through SSH)? Prints its version as PostgreSQL names it (15.18).",
  },
  action: {
    alias: 'A',
    type: 'string',
    group: A,
    describe:
      'start | stop | stop_basebackup | pause | resume: start or stop (fast) the local server; stop_basebackup ends a base backup session an interrupted -B left on the master; pause / resume replay on the running standby (pg_wal_replay_pause / _resume).',
  },
  check: {
    type: 'boolean',
    group: A,
    describe:
      "Nagios plugin: recovery state; receive and replay lag against the master's WAL position (bytes, seconds); the WAL receiver; replay standing still; an unreachable master; a segment the master removed; age of the newest restored segment; archivedir size; the WAL each replication slot on the master holds back. Exit 0/1/2/3.",
  },
  status: {
    type: 'boolean',
    group: A,
    describe: 'The master (reachable? its WAL position) and this standby (replay, receiver, lags, restored segments) for people; --json for machines.',
  },
  'install-helpers': { type: 'boolean', group: A, describe: 'Install sql/cmd_standby.sql on the master (through SSH).' },
  'receive-wal': {
    type: 'boolean',
    group: A,
    describe: 'Run the WAL receiver in the foreground (wal_receiver: -S and -A start run it in the background; -A stop and -F999 stop it).',
  },
  restore: {
    type: 'string',
    array: true,
    nargs: 2,
    group: A,
    describe: 'FILE PATH: restore_command (%f %p): copy FILE from archivedir to PATH. A missing FILE exits 1 silently. Written into pgdata by -S.',
  },
  cleanup: { type: 'string', group: A, describe: 'FILE: archive_cleanup_command (%r): remove archived WAL older than FILE.' },
  'patroni-replica': {
    type: 'boolean',
    group: A,
    describe:
      "A Patroni create_replica_method: base backup (as -B) of the leader named by --connstring=... into --datadir=..., nothing else (Patroni configures and starts the replica). Takes Patroni's --scope=, --role=replica, --datadir=, --connstring=, --checksum= and ignores other --key=value. See docs/patroni.md.",
  },
  checksum: {
    with: ['basebackup'],
    type: 'boolean',
    group: W,
    describe: 'With -B: compare file contents (hashed on the master) instead of size and modification time.',
  },
  into: { with: ['restore-backup'], type: 'string', group: W, describe: 'DIR: with --restore-backup: restore into DIR (empty) instead of pgdata.' },
  recovertotime: {
    alias: 'R',
    type: 'string',
    group: W,
    describe:
      "TIMESTAMP: with -F999: point-in-time recovery of a copy that has not replayed past TIMESTAMP, e.g. -R '2026-05-28 11:00:38.059389+02' (a time without a zone is read in the server's timezone setting).",
  },
  force: {
    with: ['failover', 'rejoin'],
    type: 'boolean',
    group: W,
    describe: 'With -F999: fail over although the master answers. With --rejoin: stop the running local server first (its writes after the fork are lost).',
  },
  master: {
    with: ['follow'],
    type: 'string',
    group: W,
    describe:
      "HOST[:SSH_PORT]: with --follow: the new master's host (and SSH port); written into the ini (master_public_ip, ssh_port) once the check has passed.",
  },
  'master-port': {
    with: ['follow'],
    type: 'string',
    group: W,
    describe: "PORT: with --follow and --master: the new master's PostgreSQL port (written into the ini as port).",
  },
  json: {
    type: 'boolean',
    group: W,
    describe:
      'With --check or --status: one JSON object instead of the text (it names the master the ini points at); with --list-backups a JSON array; with -P {master, version}; ' +
      'with an action (-I, -B, -S, -F999, -A, --follow, --rejoin, --switchover, --backup, --verify-backup, --restore-backup, --install-helpers): its result as one JSON object instead of the lines.',
  },
  'allow-primary': { with: ['check'], type: 'boolean', group: W, describe: 'With --check: a server that is not in recovery is OK.' },
  'warn-bytes': { with: ['check'], type: 'string', group: W, describe: 'SIZE: with --check: overrides check_lag_warn_bytes (ini key).' },
  'critical-bytes': { with: ['check'], type: 'string', group: W, describe: 'SIZE: with --check: overrides check_lag_critical_bytes (ini key).' },
  'warn-seconds': { with: ['check'], type: 'string', group: W, describe: 'N: with --check: overrides check_lag_warn_seconds (ini key).' },
  'critical-seconds': { with: ['check'], type: 'string', group: W, describe: 'N: with --check: overrides check_lag_critical_seconds (ini key).' },
  config: { alias: 'C', type: 'string', group: G, describe: 'FILE: cmd_standby.ini (required). See etc/cmd_standby.ini.sample.' },
  verbose: { alias: 'v', type: 'boolean', group: G, describe: 'Debug output on stderr (as debug: on).' },
};

/** Text under the usage line. */
export const USAGE = `Usage: cmd_standby -C <cmd_standby.ini> <action> [options]

cmd_standby runs on the standby (slave) host. It builds a copy of the master over SSH, keeps it replaying the WAL that cmd_archiver ships, and turns it into a master on demand. PostgreSQL 14-18; the versions are read from the servers at run time.`;

/** The epilogue of --help: glued forms, exit codes, where the docs are. */
export const EPILOG = `The original's glued forms work: -F999, -Astop_basebackup, -Cfile.

Examples:
  cmd_standby -C cmd_standby.ini -I                 prepare this host (once)
  cmd_standby -C cmd_standby.ini -B                 copy the master
  cmd_standby -C cmd_standby.ini -S                 start the copy as a standby
  cmd_standby -C cmd_standby.ini --check --json     Nagios plugin, facts as JSON
  cmd_standby -C cmd_standby.ini -F999              fail over (the master is gone)
  cmd_standby -C cmd_standby.ini -F999 -R '2026-05-28 11:00:00+02'
                                                    point-in-time recovery

Exit codes:
  0  success (--check: OK)
  1  the action failed: master unreachable, -B interrupted, failover, rejoin or switchover
     refused, --follow refused because a rejoin is needed (--check: WARNING)
  2  usage or configuration error, archivedir not ours alone (or a link at one of our files),
     or run as root; nothing was done (--check: CRITICAL)
  3  --check only: UNKNOWN (the check itself could not run: also bad arguments, the ini, root)
  130, 143  -B stopped by Ctrl-C (SIGINT) or SIGTERM: the copy stays marked incomplete;
     run -B again

Docs: docs/cmd_standby.md; every ini key: etc/cmd_standby.ini.sample
(paths in the clone, or under $(npm root -g)/pitrtools/ once installed)`;

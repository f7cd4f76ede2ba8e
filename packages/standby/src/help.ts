/** The --help text: every option (the original's spellings too), the exit codes, where the docs are. */

/** The complete --help text. */
export const HELP = `Usage: cmd_standby -C <cmd_standby.ini> <action> [options]

cmd_standby runs on the standby (slave) host. It builds a copy of the master over SSH,
keeps it replaying the WAL that cmd_archiver ships, and turns it into a master on demand.
PostgreSQL 14-18; the versions are read from the servers at run time.

Actions (one per run):
  -I, --dbinit             Prepare this host: create pgdata, the tablespace directories and
                           archivedir (0700). Asks the master over SSH; needs the helpers.
  -B, --basebackup         Base backup of the master into pgdata over SSH (rsync_threads
                           parallel streams). Over an existing copy only changed files are
                           transferred. The local server must be stopped.
      --checksum           With -B: compare file contents (hashed on the master) instead of
                           size and modification time.
      --backup             Base backup of the master into the catalogue (full_backup) as a new
                           set <full_backup>/<label>/ with a backup_manifest; then the oldest
                           sets beyond keep_backups and the WAL no kept set needs are removed.
      --list-backups       The sets of the catalogue: LSNs, times, size, source, verified, and
                           the times each can be recovered to with archivedir's WAL (--json).
      --verify-backup [LABEL]
                           pg_verifybackup (of the set's major) on every set or one, with the
                           WAL from archivedir; recorded in the set. Exit 1 if one fails.
      --restore-backup LABEL [--into DIR]
                           Copy a set into pgdata or DIR (empty), tablespaces mapped as -B
                           does; then -S, or -F999 -R for a point in time.
  -S, --standby            Start the copy as a standby: restore from archivedir (and stream
                           from the master with use_streaming_replication, through a slot
                           on the master with use_replication_slots).
  -F, --failover 999       Fail over: promote this standby to a master. Refused while the
                           master's PostgreSQL still answers (split brain) unless --force.
                           With archiver_config it ships its WAL to the other standbys at once.
                           Only the value 999 is accepted (as in pitrtools 1.x: -F999).
  -R, --recovertotime TIMESTAMP
                           With -F999: point-in-time recovery of a copy that has not replayed
                           past TIMESTAMP, e.g. -R '2026-05-28 11:00:38.059389+02' (a time
                           without a zone is read in the server's timezone setting).
      --follow             Re-point this standby (running or stopped) at the new master after
                           a failover: checks from the new master's timeline history that it
                           has not replayed past the fork (else exit 1, "a rejoin is needed"),
                           rewrites primary_conninfo, reloads, follows the latest timeline and
                           waits until it streams from (or restores the new timeline of) it.
                           The new master is the ini's master_public_ip/ssh_port/port, or:
      --master HOST[:SSH_PORT]
                           With --follow: the new master's host (and SSH port); written into
                           the ini (master_public_ip, ssh_port) once the check has passed.
      --master-port PORT   With --follow and --master: the new master's PostgreSQL port
                           (written into the ini as port).
  -P, --ping               Does the master's PostgreSQL answer (through SSH)?
  -A, --action start|stop|stop_basebackup|pause|resume
                           start or stop (fast) the local server; stop_basebackup ends a base
                           backup session an interrupted -B left on the master; pause / resume
                           replay on the running standby (pg_wal_replay_pause / _resume).
      --check              Nagios plugin: recovery state; receive and replay lag against the
                           master's WAL position (bytes, seconds); the WAL receiver; replay
                           standing still; an unreachable master; a segment the master removed;
                           age of the newest restored segment; archivedir size; the WAL each
                           replication slot on the master holds back. Exit 0/1/2/3.
      --status             The master (reachable? its WAL position) and this standby (replay,
                           receiver, lags, restored segments) for people; --json for machines.
      --rejoin             On an old master (ini naming the new master): make it a standby of
                           the new master. A clean stop before the fork needs nothing; else
                           pg_rewind through SSH (needs wal_log_hints = on or data checksums,
                           and pg_rewind of the same major), else the delta -B. Then starts it
                           as a standby. A running server is refused unless --force.
      --switchover         On a streaming standby: planned swap with the master, no loss.
                           Checks it is caught up, stops the master (master_cmd_standby -C
                           master_standby_config -A stop over SSH), checks it replayed the
                           master's shutdown checkpoint (else restarts the master and refuses),
                           promotes, then runs --rejoin on the old master.
      --install-helpers    Install sql/cmd_standby.sql on the master (through SSH).
      --receive-wal        Run the WAL receiver in the foreground (wal_receiver: -S and
                           -A start run it in the background; -A stop and -F999 stop it).
      --restore FILE PATH  restore_command (%f %p): copy FILE from archivedir to PATH.
                           A missing FILE exits 1 silently. Written into pgdata by -S.
      --cleanup FILE       archive_cleanup_command (%r): remove archived WAL older than FILE.
      --patroni-replica    A Patroni create_replica_method: base backup (as -B) of the leader
                           named by --connstring=... into --datadir=..., nothing else (Patroni
                           configures and starts the replica). Takes Patroni's --scope=,
                           --role=replica, --datadir=, --connstring= and ignores other
                           --key=value. See docs/patroni.md.

Options:
  -C, --config FILE        cmd_standby.ini (required). See etc/cmd_standby.ini.sample.
      --force              With -F999: fail over although the master answers. With --rejoin:
                           stop the running local server first (its writes after the fork
                           are lost).
      --json               With --check or --status: one JSON object instead of the text
                           (it names the master the ini points at); with --list-backups a
                           JSON array.
      --allow-primary      With --check: a server that is not in recovery is OK.
      --warn-bytes SIZE, --critical-bytes SIZE, --warn-seconds N, --critical-seconds N
                           With --check: override check_lag_* of the ini file.
  -v, --verbose            Debug output on stderr (as debug: on).
  -h, --help               This text.
      --version            The installed version.
The original's glued forms work: -F999, -Astop_basebackup, -Cfile.

Exit codes:
  0  success (--check: OK)
  1  the action failed: master unreachable, -B interrupted, failover, rejoin or switchover
     refused, --follow refused because a rejoin is needed (--check: WARNING)
  2  usage or configuration error, archivedir not ours alone (or a link at one of our files),
     or run as root; nothing was done (--check: CRITICAL)
  3  --check only: UNKNOWN (the check itself could not run)
  130, 143  -B stopped by Ctrl-C (SIGINT) or SIGTERM: the copy stays marked incomplete;
     run -B again

Documentation: docs/cmd_standby.md; every ini key: etc/cmd_standby.ini.sample.
`;

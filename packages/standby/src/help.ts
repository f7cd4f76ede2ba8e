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
  -S, --standby            Start the copy as a standby: restore from archivedir (and stream
                           from the master with use_streaming_replication).
  -F, --failover 999       Fail over: promote this standby to a master. Refused while the
                           master's PostgreSQL still answers (split brain) unless --force.
                           Only the value 999 is accepted (as in pitrtools 1.x: -F999).
  -R, --recovertotime TIMESTAMP
                           With -F999: point-in-time recovery of a copy that has not replayed
                           past TIMESTAMP, e.g. -R '2026-05-28 11:00:38.059389+02' (a time
                           without a zone is read in the server's timezone setting).
  -P, --ping               Does the master's PostgreSQL answer (through SSH)?
  -A, --action start|stop|stop_basebackup
                           start or stop (fast) the local server; stop_basebackup ends a base
                           backup session an interrupted -B left on the master.
      --check              Nagios plugin: recovery state; receive and replay lag against the
                           master's WAL position (bytes, seconds); the WAL receiver; replay
                           standing still; an unreachable master; a segment the master removed;
                           age of the newest restored segment; archivedir size. Exit 0/1/2/3.
      --status             The master (reachable? its WAL position) and this standby (replay,
                           receiver, lags, restored segments) for people; --json for machines.
      --install-helpers    Install sql/cmd_standby.sql on the master (through SSH).
      --receive-wal        Run the WAL receiver in the foreground (wal_receiver: -S and
                           -A start run it in the background; -A stop and -F999 stop it).
      --restore FILE PATH  restore_command (%f %p): copy FILE from archivedir to PATH.
                           A missing FILE exits 1 silently. Written into pgdata by -S.
      --cleanup FILE       archive_cleanup_command (%r): remove archived WAL older than FILE.

Options:
  -C, --config FILE        cmd_standby.ini (required). See etc/cmd_standby.ini.sample.
      --force              With -F999: fail over although the master answers.
      --json               With --check or --status: one JSON object instead of the text.
      --allow-primary      With --check: a server that is not in recovery is OK.
      --warn-bytes SIZE, --critical-bytes SIZE, --warn-seconds N, --critical-seconds N
                           With --check: override check_lag_* of the ini file.
  -v, --verbose            Debug output on stderr (as debug: on).
  -h, --help               This text.
      --version            The installed version.
The original's glued forms work: -F999, -Astop_basebackup, -Cfile.

Exit codes:
  0  success (--check: OK)
  1  the action failed: master unreachable, -B interrupted, failover refused (--check: WARNING)
  2  usage or configuration error, archivedir not ours alone (or a link at one of our files),
     or run as root; nothing was done (--check: CRITICAL)
  3  --check only: UNKNOWN (the check itself could not run)
  130, 143  -B stopped by Ctrl-C (SIGINT) or SIGTERM: the copy stays marked incomplete;
     run -B again

Documentation: docs/cmd_standby.md; every ini key: etc/cmd_standby.ini.sample.
`;

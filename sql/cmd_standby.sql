-- pitrtools helper functions for the MASTER (PostgreSQL 14-18).
--
-- Install (idempotent; run again after an upgrade of pitrtools):
--   psql -f sql/cmd_standby.sql postgres
-- or, from the standby, through the SSH connection cmd_standby already uses:
--   cmd_standby -C cmd_standby.ini --install-helpers
-- or on the master itself:
--   cmd_archiver -C cmd_archiver.ini --install-helpers
--
-- cmd_standby calls them through one database session that it opens through an SSH port forward,
-- so only SSH needs to be open between the hosts. Version differences (pg_start_backup in 14,
-- pg_backup_start from 15) are decided here from server_version_num at run time.

BEGIN;

-- The pitrtools helper version; cmd_standby checks it to tell an old install from a current one.
CREATE OR REPLACE FUNCTION cmd_helpers_version() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 3 $$;
COMMENT ON FUNCTION cmd_helpers_version() IS 'pitrtools: version of the installed helper functions';

-- The master's data directory (as the original's cmd_get_pgdata).
CREATE OR REPLACE FUNCTION cmd_get_pgdata() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT current_setting('data_directory') $$;
COMMENT ON FUNCTION cmd_get_pgdata() IS 'pitrtools: the data directory of this server';

-- Every directory a standby must create: the data directory, then each tablespace location.
CREATE OR REPLACE FUNCTION cmd_get_data_dirs() RETURNS SETOF text
LANGUAGE sql STABLE AS $$
  SELECT current_setting('data_directory')
  UNION ALL
  SELECT pg_tablespace_location(oid) FROM pg_tablespace
   WHERE spcname NOT IN ('pg_default', 'pg_global') AND pg_tablespace_location(oid) <> ''
$$;
COMMENT ON FUNCTION cmd_get_data_dirs() IS 'pitrtools: data directory and tablespace locations';

-- User tablespaces: oid (the name of the pg_tblspc symlink), name and location.
-- An empty location is an in-place tablespace (a directory inside pg_tblspc).
CREATE OR REPLACE FUNCTION cmd_get_tablespaces(OUT oid oid, OUT spcname name, OUT location text) RETURNS SETOF record
LANGUAGE sql STABLE AS $$
  SELECT t.oid, t.spcname, pg_tablespace_location(t.oid) FROM pg_tablespace t
   WHERE t.spcname NOT IN ('pg_default', 'pg_global') ORDER BY t.oid
$$;
COMMENT ON FUNCTION cmd_get_tablespaces() IS 'pitrtools: user tablespaces and their locations';

-- Facts the standby needs in one round trip: version, role, WAL position, archiving set-up.
CREATE OR REPLACE FUNCTION cmd_server_info(
  OUT version_num integer, OUT in_recovery boolean, OUT system_identifier text,
  OUT wal_segment_size bigint, OUT current_lsn pg_lsn, OUT now timestamptz,
  OUT archive_mode text, OUT archive_command text, OUT archive_library text, OUT data_directory text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  version_num := current_setting('server_version_num')::integer;
  in_recovery := pg_is_in_recovery();
  system_identifier := (SELECT s.system_identifier::text FROM pg_control_system() s);
  wal_segment_size := pg_size_bytes(current_setting('wal_segment_size'));
  current_lsn := CASE WHEN in_recovery THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END;
  now := clock_timestamp();
  archive_mode := current_setting('archive_mode');
  archive_command := current_setting('archive_command');
  archive_library := current_setting('archive_library', true);  -- NULL before 15
  data_directory := current_setting('data_directory');
END
$$;
COMMENT ON FUNCTION cmd_server_info() IS 'pitrtools: version, recovery state, WAL position and archiving settings';

-- Starts a non-exclusive base backup in THIS session (which must stay open until cmd_backup_stop).
CREATE OR REPLACE FUNCTION cmd_backup_start(label text, fast boolean DEFAULT true) RETURNS pg_lsn
LANGUAGE plpgsql AS $$
DECLARE lsn pg_lsn;
BEGIN
  IF current_setting('server_version_num')::integer >= 150000 THEN
    EXECUTE 'SELECT pg_backup_start($1, $2)' INTO lsn USING label, fast;
  ELSE
    EXECUTE 'SELECT pg_start_backup($1, $2, false)' INTO lsn USING label, fast;
  END IF;
  RETURN lsn;
END
$$;
COMMENT ON FUNCTION cmd_backup_start(text, boolean) IS 'pitrtools: start a non-exclusive backup in this session';

-- Ends the backup started in this session; returns what must be written into the copy as
-- backup_label and tablespace_map (byte for byte).
CREATE OR REPLACE FUNCTION cmd_backup_stop(wait_for_archive boolean DEFAULT true, OUT lsn pg_lsn, OUT labelfile text, OUT spcmapfile text)
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('server_version_num')::integer >= 150000 THEN
    EXECUTE 'SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop($1)' INTO lsn, labelfile, spcmapfile USING wait_for_archive;
  ELSE
    EXECUTE 'SELECT lsn, labelfile, spcmapfile FROM pg_stop_backup(false, $1)' INTO lsn, labelfile, spcmapfile USING wait_for_archive;
  END IF;
END
$$;
COMMENT ON FUNCTION cmd_backup_stop(boolean) IS 'pitrtools: stop the backup of this session; returns backup_label and tablespace_map contents';

-- Ends base backups left behind by an interrupted cmd_standby -B: terminates the sessions that hold
-- them (a non-exclusive backup ends with its session). Returns how many were terminated.
-- A loop, not a WHERE clause: the planner may evaluate pg_terminate_backend() before the other
-- conditions, which would end every session of the server, this one included.
CREATE OR REPLACE FUNCTION cmd_stop_stale_backups() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer := 0;
  victim integer;
BEGIN
  FOR victim IN SELECT a.pid FROM pg_stat_activity a
                 WHERE a.application_name = 'pitrtools basebackup' AND a.pid <> pg_backend_pid() LOOP
    IF pg_terminate_backend(victim) THEN n := n + 1; END IF;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cmd_stop_stale_backups() IS 'pitrtools: end base backups left behind by an interrupted cmd_standby -B';

-- The original's names, kept so existing monitoring that calls them still works.
CREATE OR REPLACE FUNCTION cmd_pg_start_backup() RETURNS integer
LANGUAGE plpgsql AS $$ BEGIN PERFORM cmd_backup_start('pitrtools', true); RETURN 1; END $$;
COMMENT ON FUNCTION cmd_pg_start_backup() IS 'pitrtools (compat): start a backup in this session; returns 1';
CREATE OR REPLACE FUNCTION cmd_pg_stop_backup() RETURNS integer
LANGUAGE plpgsql AS $$ BEGIN PERFORM cmd_backup_stop(true); RETURN 1; END $$;
COMMENT ON FUNCTION cmd_pg_stop_backup() IS 'pitrtools (compat): stop the backup of this session; returns 1';

COMMIT;

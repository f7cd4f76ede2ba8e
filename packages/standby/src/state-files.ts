/**
 * Small state files cmd_standby keeps in the data directory. Their names start with "pitrtools",
 * so -B neither copies nor removes them (basebackup/exclusions.ts).
 */

/** Name of the newest segment --restore delivered; its mtime is when. */
export const RESTORED_STATE = 'pitrtools.restored';
/** Last replayed transaction time, saved by -A stop, for -R's check on a stopped copy. */
export const REPLAYED_STATE = 'pitrtools.replayed';
/** Present while a -B is incomplete: -S and -F999 refuse to start such a copy. */
export const INCOMPLETE_MARKER = 'pitrtools_basebackup.incomplete';
/** The server log when the ini sets no logfile (pg_ctl -l). */
export const DEFAULT_SERVER_LOG = 'pitrtools-server.log';
/** `<file> <count>` lines: archived files --restore refused (incomplete) and how many times, until each is restored. */
export const REJECTED_STATE = 'pitrtools.restore-rejected';
/** JSON: what --check remembers between runs (since when replay stands still, the receiver is down, the master is unreachable). */
export const CHECK_STATE = 'pitrtools.check-state';
/** The backup's start as an instant (JSON), written by -B with backup_label: -R's lower bound for a target. */
export const BACKUP_STATE = 'pitrtools.backup';

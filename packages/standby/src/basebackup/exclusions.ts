/**
 * What -B copies, as pg_basebackup does (protocol-replication.html, "BASE_BACKUP"): the data
 * directory minus files that are rebuilt or meaningless on another server, plus the original
 * pitrtools' rule that the standby keeps its own postgresql.conf and pg_hba.conf.
 */

/** What to do with one entry of the master's data directory or of a tablespace. */
export type Rule =
  /** Copy it (directories: walk into them). */
  | 'copy'
  /** Not copied; a local one is removed like any file the master does not have. */
  | 'exclude'
  /** A directory that exists in the copy but empty (pg_wal, pg_replslot ...): local contents are removed. */
  | 'empty-dir'
  /** The standby's own file: never copied over, never removed (copied only when missing locally). */
  | 'keep-local'
  /** Our own file (pitrtools*): neither copied nor removed. */
  | 'ours'
  /** global/pg_control: copied after everything else. */
  | 'last';

/** Directories whose contents a base backup leaves out (the directory itself is kept). */
export const EMPTY_DIRS = new Set(['pg_wal', 'pg_dynshmem', 'pg_notify', 'pg_replslot', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);

/** Files at the top of the data directory that are never copied. */
export const EXCLUDED_TOP_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'backup_label',
  'tablespace_map',
  'backup_manifest',
  'standby.signal',
  'recovery.signal',
  'current_logfiles',
  'postgresql.auto.conf.tmp',
  'backup_label.old',
]);

/** The standby's own configuration, as the original kept it (pg_conf / pg_hba_conf replace them at -S). */
export const KEEP_LOCAL = new Set(['postgresql.conf', 'pg_hba.conf']);

// Temporary relations (t<backend>_<relfilenode>[_fork][.segment]) vanish at restart anyway.
const TEMP_RELATION = /^t\d+_\d+(?:_(?:fsm|vm|init))?(?:\.\d+)?$/;

/** The rule for `rel`, a '/'-separated path relative to the data directory. */
export function dataDirRule(rel: string): Rule {
  const parts = rel.split('/');
  const name = parts[parts.length - 1]!;
  if (parts.length === 1) {
    if (name.startsWith('pitrtools')) return 'ours';
    if (KEEP_LOCAL.has(name)) return 'keep-local';
    if (EXCLUDED_TOP_FILES.has(name)) return 'exclude';
    if (EMPTY_DIRS.has(name)) return 'empty-dir';
  }
  if (rel === 'global/pg_control') return 'last';
  return commonRule(parts, name);
}

/** The rule for `rel`, relative to a tablespace's location. */
export function tablespaceRule(rel: string): Rule {
  const parts = rel.split('/');
  return commonRule(parts, parts[parts.length - 1]!);
}

/** Whether `name` has the shape of our temp files (incoming-file.ts, core's atomic writes): a leading dot, `.tmp` at the end. */
export function isOwnTemp(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/**
 * Whether `name` is a temp file of this very process (`.NAME.PID.X.tmp` with our pid: core's
 * tempName, which every writer of a run, main thread and copy workers alike, names its temps with): one the copy that
 * runs alongside the walk is writing now, never a leftover to remove.
 */
export function isThisProcessTemp(name: string): boolean {
  if (!isOwnTemp(name)) return false;
  const parts = name.slice(1, -'.tmp'.length).split('.');
  return parts.length >= 3 && parts[parts.length - 2] === String(process.pid);
}

function commonRule(parts: string[], name: string): Rule {
  if (name.startsWith('pgsql_tmp')) return 'exclude';
  if (name === 'pg_internal.init') return 'exclude';
  // Our own temp files from an interrupted copy: removed, never copied.
  if (isOwnTemp(name)) return 'exclude';
  if (parts.length >= 2 && TEMP_RELATION.test(name)) return 'exclude';
  return 'copy';
}

/** In pg_wal the subdirectory archive_status must exist (empty) too. */
export function keptSubdirs(rel: string): string[] {
  return rel === 'pg_wal' ? ['archive_status'] : [];
}

/**
 * Of a directory's names, the forks of unlogged relations except their init fork: PostgreSQL
 * resets such relations from the init fork when recovery ends, so pg_basebackup leaves them out.
 */
export function unloggedForks(names: readonly string[]): Set<string> {
  const unlogged = new Set<string>();
  for (const n of names) {
    const m = /^(\d+)_init$/.exec(n);
    if (m) unlogged.add(m[1]!);
  }
  if (unlogged.size === 0) return unlogged;
  return new Set(
    names.filter((n) => {
      const m = /^(\d+)(?:_(?:fsm|vm))?(?:\.\d+)?$/.exec(n);
      return m !== null && unlogged.has(m[1]!);
    }),
  );
}

/**
 * The two commands PostgreSQL itself runs, often: `--restore %f %p` (restore_command, for every
 * segment and every .history probe) and `--cleanup %r` (archive_cleanup_command, at each
 * restartpoint). Their arguments are read by hand so that a run loads neither yargs nor ssh2 nor pg.
 * And -B, whose time is measured against pg_basebackup and rsync: read by hand, it skips yargs and
 * the other commands (~50 ms of start-up). Anything else, or anything unusual, goes to yargs.
 */

/** A recognised fast-path invocation. */
export type FastInvocation =
  | { kind: 'restore'; config: string; file: string; dest: string; verbose: boolean }
  | { kind: 'cleanup'; config: string; restartFile: string; verbose: boolean }
  | { kind: 'basebackup'; config: string; checksum: boolean; verbose: boolean };

/**
 * Recognises `[-C ini | -Cini | --config ini | --config=ini] (--restore F P | --cleanup R | -B [--checksum]) [-v]`
 * in any order; else undefined.
 */
export function parseFastPath(argv: readonly string[]): FastInvocation | undefined {
  let config: string | undefined;
  let restore: [string, string] | undefined;
  let cleanup: string | undefined;
  let basebackup = false;
  let checksum = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-C' || a === '--config') {
      config = argv[++i];
    } else if (a.startsWith('--config=')) {
      config = a.slice('--config='.length);
    } else if (/^-C./.test(a)) {
      config = a.slice(2);
    } else if (a === '--restore' && i + 2 < argv.length) {
      restore = [argv[i + 1]!, argv[i + 2]!];
      i += 2;
    } else if (a === '--cleanup' && i + 1 < argv.length) {
      cleanup = argv[++i]!;
    } else if (a === '-B' || a === '--basebackup') {
      basebackup = true;
    } else if (a === '--checksum') {
      checksum = true;
    } else if (a === '-v' || a === '--verbose') {
      verbose = true;
    } else {
      return undefined;
    }
  }
  if (config === undefined || config === '') return undefined;
  const actions = Number(restore !== undefined) + Number(cleanup !== undefined) + Number(basebackup);
  if (actions !== 1 || (checksum && !basebackup)) return undefined;
  if (basebackup) return { kind: 'basebackup', config, checksum, verbose };
  if (restore) return { kind: 'restore', config, file: restore[0], dest: restore[1], verbose };
  return { kind: 'cleanup', config, restartFile: cleanup!, verbose };
}

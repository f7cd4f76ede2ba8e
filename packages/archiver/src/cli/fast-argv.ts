/**
 * The archive_command line, recognised by hand so that the per-segment process does not load
 * yargs: exactly `-C ini -F path` (also `-Cini`, `--config ini`, `--config=ini`, any order).
 * Anything else, even one more flag, goes to the full command line parser.
 */

/** -C and -F of an archive_command invocation, or undefined when argv is anything else. */
export function fastArchiveArgs(argv: readonly string[]): { config: string; file: string } | undefined {
  const got: { C?: string; F?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let flag: 'C' | 'F' | undefined;
    let value: string | undefined;
    const long = /^--(config|file)(?:=(.*))?$/s.exec(a);
    if (long) {
      flag = long[1] === 'config' ? 'C' : 'F';
      value = long[2];
    } else if (/^-[CF]/.test(a)) {
      flag = a[1] as 'C' | 'F';
      value = a.length > 2 ? a.slice(2) : undefined;
    } else {
      return undefined;
    }
    if (value === undefined) {
      value = argv[++i];
      // A value that looks like a flag is for the real parser to judge.
      if (value === undefined || value.startsWith('-')) return undefined;
    }
    if (got[flag] !== undefined || value === '') return undefined;
    got[flag] = value;
  }
  return got.C !== undefined && got.F !== undefined ? { config: got.C, file: got.F } : undefined;
}

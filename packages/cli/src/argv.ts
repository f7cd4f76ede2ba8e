/**
 * Argument quirks the original accepted: `-F999`, `-Astop_basebackup` and `-Cfile` (a short option
 * glued to its value, as Python's optparse allows). yargs would read `-Astop` as -A -s -t -o -p,
 * so such arguments are split before yargs sees them.
 */

/** Splits `-Xvalue` into `-X value` for the short options in `valueFlags` (e.g. 'CFRA'). */
export function splitGluedShortOptions(argv: readonly string[], valueFlags: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (/^-[A-Za-z]./.test(a) && !a.startsWith('--') && valueFlags.includes(a[1]!) && !a.includes('=')) {
      out.push(a.slice(0, 2), a.slice(2));
    } else {
      out.push(a);
    }
  }
  return out;
}

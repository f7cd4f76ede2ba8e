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

/**
 * yargs' strict-mode message for arguments it does not know, as a person reads it: "Unknown
 * arguments: recover-to-time, recoverToTime" names our internal camelCase copy of each option
 * and drops the dashes. Returns e.g. "unknown option --recover-to-time" (an option as it was
 * typed in `argv`, each once) or "unexpected argument foo"; "Missing required argument: config"
 * becomes "-C <`ini`> is required"; any other message unchanged.
 */
export function usageMessage(msg: string, argv: readonly string[], ini = 'INI'): string {
  // yargs' demandOption text for -C, in the words cmd_standby uses for the same omission.
  if (/^Missing required argument: config\b/.test(msg)) return `-C <${ini}> is required`;
  const m = /^Unknown arguments?: (.*)$/s.exec(msg);
  if (!m) return msg;
  const names = m[1]!.split(', ');
  const kebab = (n: string): string => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const typed = (n: string): string | undefined => [`--${n}`, `-${n}`].find((f) => argv.some((a) => a === f || a.startsWith(`${f}=`)));
  const options: string[] = [];
  const others: string[] = [];
  for (const n of names) {
    if (n !== kebab(n) && names.includes(kebab(n))) continue; // yargs' camelCase copy of an option listed as typed
    const flag = typed(n);
    if (flag !== undefined) options.push(flag);
    else others.push(n);
  }
  const parts = [
    ...(options.length > 0 ? [`unknown option${options.length > 1 ? 's' : ''} ${options.join(', ')}`] : []),
    ...(others.length > 0 ? [`unexpected argument${others.length > 1 ? 's' : ''} ${others.join(', ')}`] : []),
  ];
  return parts.join('; ');
}

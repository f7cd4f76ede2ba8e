/**
 * The archive_command value that runs cmd_archiver for a given ini: `FRONT_END -C INI -F %p`.
 * One definition for `cmd_archiver -I` (which prints it) and for `cmd_standby -F999` (which sets
 * it with ALTER SYSTEM on the promoted server), so both always agree on the exact text.
 */
import { shellQuote } from '../ssh/quote.js';

// Quote only what needs it, so the usual paths stay readable in postgresql.conf.
const word = (s: string): string => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : shellQuote(s));

/** The archive_command value (unquoted for postgresql.conf) for the sh front end `frontEnd` and the absolute `ini`; PostgreSQL runs it through /bin/sh. */
export function archiveCommandValue(frontEnd: string, ini: string): string {
  return `${[frontEnd, '-C', ini, '-F'].map(word).join(' ')} %p`;
}

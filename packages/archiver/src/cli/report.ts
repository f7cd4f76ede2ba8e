/** Printing command results for people (stdout; colour only on a TTY). */
import { say } from '@pitrtools/cli/output';
import type { ReportLine } from '../commands/validate.js';

/** Prints report lines as `LEVEL: text` plus `HINT: ...`. */
export function printReport(lines: readonly ReportLine[]): void {
  for (const l of lines) {
    say(`${l.level}: ${l.text}`, l.level);
    if (l.hint) say(`HINT: ${l.hint}`);
  }
}

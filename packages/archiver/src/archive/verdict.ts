/**
 * How one `cmd_archiver -F` ends. Only two things answer it: a proof marker of cmd_queue ("archived",
 * read by the sh front end or by warm/await-proof.ts), and the standalone run, which turns the
 * per-slave outcomes into a Verdict here and a Verdict into the one error (code, exit code, words,
 * hint) printed by the binary's exit point. So a conflict, a dead slave or offline reads the same
 * and exits the same whatever came first. The exit codes come from the error registry
 * (core/error-codes.ts).
 */
import { PitrError } from '@pitrtools/core/errors';
import { describeOutcome, isSafe, type SlaveOutcome } from './outcome.js';

/** The end of one -F run. `detail` lists the slaves that are not safe, one `slave: what` each. */
export type Verdict =
  | { kind: 'archived' }
  | { kind: 'offline'; segment: string; configFile: string }
  | { kind: 'conflict'; segment: string; detail: string }
  | { kind: 'failed'; segment: string; detail: string };

/** A verdict that is not "archived". */
export type FailedVerdict = Exclude<Verdict, { kind: 'archived' }>;

/** The verdict for per-slave outcomes: archived only if every slave is safe; a conflict wins over a failure. */
export function verdictFor(segment: string, outcomes: ReadonlyMap<string, SlaveOutcome>): Verdict {
  const bad = [...outcomes].filter(([, o]) => !isSafe(o));
  if (bad.length === 0) return { kind: 'archived' };
  // One line: it ends up in PostgreSQL's log, where a line break would forge a line.
  const detail = bad
    .map(([n, o]) => describeOutcome(n, o))
    .join('; ')
    .replace(/[\r\n]+/g, ' ');
  return { kind: bad.some(([, o]) => o.kind === 'conflict') ? 'conflict' : 'failed', segment, detail };
}

/** The verdict of a run while `state: offline`. */
export function offlineVerdict(segment: string, configFile: string): FailedVerdict {
  return { kind: 'offline', segment, configFile };
}

const RETRY = 'PostgreSQL keeps the segment in pg_wal and retries';

/** The one error each non-archived verdict is reported as (ARCHIVING_OFFLINE exit 3, ARCHIVE_CONFLICT 4, ARCHIVE_FAILED 1). */
export function verdictError(v: FailedVerdict): PitrError {
  switch (v.kind) {
    case 'offline':
      return new PitrError('ARCHIVING_OFFLINE', `not archiving ${v.segment}: state is offline in ${v.configFile}`, {
        hint: `${RETRY}; set state: online to resume`,
      });
    case 'conflict':
      return new PitrError('ARCHIVE_CONFLICT', `${v.segment} is NOT archived: ${v.detail}`, {
        hint: `${RETRY}; nothing was overwritten: move the other file away on the slave and archiving resumes by itself`,
      });
    case 'failed':
      return new PitrError('ARCHIVE_FAILED', `${v.segment} is NOT archived: ${v.detail}`, { hint: RETRY });
  }
}

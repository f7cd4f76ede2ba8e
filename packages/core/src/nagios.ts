/**
 * The one Nagios output shape of both programs' checks (cmd_archiver --check, --status --nagios,
 * cmd_standby --check). The plugin line follows the Nagios Plugin Development Guidelines: `SERVICE
 * STATE - summary | perfdata`, then detail lines; the exit code is the state's (0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN). `--json` prints the same parts under the same keys (service, state,
 * code, summary, perfdata, details), followed by the check's own facts.
 */

/** Plugin states and their exit codes. */
export const NAGIOS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
/** OK, WARNING, CRITICAL or UNKNOWN. */
export type NagiosState = keyof typeof NAGIOS;
/** The service names in the plugin line. */
export type NagiosService = 'PITR_ARCHIVER' | 'PITR_CLUSTER' | 'PITR_STANDBY';

/** What a check reports, as both programs print it. */
export interface NagiosResult {
  service: NagiosService;
  state: NagiosState;
  /** The exit code: NAGIOS[state]. */
  code: number;
  /** One line for people (a `|` or line break in it is replaced: they would end the text). */
  summary: string;
  /** Space-separated `'label'=value[UOM];warn;crit;min;max` items, or ''. */
  perfdata: string;
  /** Lines after the first (Nagios shows them as long output). */
  details: string[];
}

/** The worse of two states (UNKNOWN counts above CRITICAL, as the exit codes order them). */
export function worseState(a: NagiosState, b: NagiosState): NagiosState {
  return NAGIOS[b] > NAGIOS[a] ? b : a;
}

/** A result from its parts; the code follows from the state. */
export function nagiosResult(
  service: NagiosService,
  state: NagiosState,
  summary: string,
  perfdata: readonly string[] = [],
  details: readonly string[] = [],
): NagiosResult {
  return { service, state, code: NAGIOS[state], summary, perfdata: perfdata.join(' '), details: [...details] };
}

/** The plugin output: `SERVICE STATE - summary | perfdata` and the detail lines. */
export function nagiosText(r: NagiosResult): string {
  const summary = r.summary.replace(/\|/g, '/').replace(/[\r\n]+/g, ' ');
  const details = r.details.map((d) => d.replace(/\|/g, '/').replace(/[\r\n]+/g, ' '));
  return [`${r.service} ${r.state} - ${summary}${r.perfdata !== '' ? ` | ${r.perfdata}` : ''}`, ...details].join('\n');
}

/** The --json object: the result's keys first, then the check's own facts (which never override them). */
export function nagiosJson(r: NagiosResult, facts: object = {}): Record<string, unknown> {
  const head = { service: r.service, state: r.state, code: r.code, summary: r.summary, perfdata: r.perfdata, details: r.details };
  return Object.assign({ ...head }, facts, head);
}

/**
 * cmd_archiver --check: a Nagios plugin. Reads the queues (no SSH, no writes): per slave the
 * bytes and files queued and the age of the oldest, whether it was dropped, whether a conflict
 * is recorded for it, and whether archiving is offline; and asks the local server, when it runs,
 * whether it archives with this ini at all (not in recovery, archive_command ours). Exit 0/1/2 as
 * the worst state; 3 when it cannot tell.
 */
import { promises as fsp } from 'node:fs';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { resolveSlaves } from '@pitrtools/core/config/ssh-targets';
import { humanBytes } from '@pitrtools/core/bytes';
import { PitrError } from '@pitrtools/core/errors';
import { DIR_NOT_PRIVATE } from '@pitrtools/core/fs/ownership';
import { NAGIOS, nagiosResult, nagiosText, worseState, type NagiosResult, type NagiosState } from '@pitrtools/core/nagios';
import { checkQueueDirs, fsQueueStore } from '../adapters/fs-queue-store.js';
import { Claim } from '../archive/claims.js';
import type { QueueStore } from '../archive/ports.js';
import { runningDaemon } from '../daemon/pidfile.js';
import { localServerArchiving, type ServerArchiving } from '../pg/server-archiving.js';

/** Nagios states with their exit codes. */
export { NAGIOS, type NagiosState } from '@pitrtools/core/nagios';

/** Options of --check; ages in seconds override the check_queue_*_age keys. */
export interface CheckOptions {
  config: ArchiverConfig;
  warnAge?: number;
  critAge?: number;
  now?: number;
  store?: QueueStore;
  /** How the local server archives; undefined when it cannot be asked. Default: localServerArchiving. */
  server?: (config: ArchiverConfig) => Promise<ServerArchiving | undefined>;
}

/** What --check found for one slave. */
export interface SlaveCheck {
  name: string;
  state: NagiosState;
  files: number;
  bytes: number;
  oldestAgeS: number;
  /** The NEEDS_BASE_BACKUP text when the slave was dropped. */
  detached: string | null;
  conflicts: string[];
  problems: string[];
}

/** The whole result, as --json prints it. */
export interface CheckReport {
  state: NagiosState;
  code: number;
  summary: string;
  offline: boolean;
  slaves: SlaveCheck[];
  thresholds: { warnBytes: number | null; criticalBytes: number | null; warnAgeS: number; critAgeS: number };
  daemonPid: number | null;
  /** How the local server archives (see ServerArchiving); null when it is not running or did not answer. */
  server: ServerArchiving | null;
}

const worse = worseState;

/** Looks at the queues and the state and decides OK, WARNING, CRITICAL or UNKNOWN. */
export async function checkCommand(o: CheckOptions): Promise<CheckReport> {
  const c = o.config;
  const now = o.now ?? Date.now();
  const store = o.store ?? fsQueueStore(c.l_archivedir);
  const thresholds = {
    warnBytes: c.queue_warn_bytes,
    criticalBytes: c.queue_critical_bytes,
    warnAgeS: o.warnAge ?? c.check_queue_warn_age,
    critAgeS: o.critAge ?? c.check_queue_critical_age,
  };
  const offline = c.state === 'offline';
  const base = { offline, thresholds, daemonPid: null, server: null, slaves: [] as SlaveCheck[] };
  if (
    !(await fsp.stat(c.l_archivedir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    return {
      ...base,
      state: 'UNKNOWN',
      code: NAGIOS.UNKNOWN,
      summary: `l_archivedir ${c.l_archivedir} does not exist (cmd_archiver -C ${c.file} -I creates it)`,
    };
  }
  // What -F and cmd_queue refuse (exit 2) stops archiving: CRITICAL, with the fix.
  const refused = await checkQueueDirs(
    c.l_archivedir,
    resolveSlaves(c, () => true).map((s) => s.name),
  ).then(
    () => undefined,
    (e: unknown) => {
      if (e instanceof PitrError && e.code === DIR_NOT_PRIVATE) return e;
      throw e;
    },
  );
  if (refused) return { ...base, state: 'CRITICAL', code: NAGIOS.CRITICAL, summary: `${refused.message}; archiving fails until then (${refused.hint ?? ''})` };
  const slaves: SlaveCheck[] = [];
  for (const s of resolveSlaves(c, () => true)) {
    const scan = await store.scan(s.name);
    const bytes = scan.files.reduce((n, f) => n + f.size, 0);
    const oldest = scan.files.reduce((m, f) => Math.min(m, f.mtimeMs), now);
    const oldestAgeS = Math.max(0, Math.round((now - oldest) / 1000));
    const conflicts = [...scan.claims].filter((n) => n.startsWith(Claim.conflict(''))).map((n) => n.slice(Claim.conflict('').length));
    const sc: SlaveCheck = { name: s.name, state: 'OK', files: scan.files.length, bytes, oldestAgeS, detached: scan.detached ?? null, conflicts, problems: [] };
    const flag = (state: NagiosState, text: string): void => {
      sc.state = worse(sc.state, state);
      sc.problems.push(text);
    };
    if (scan.detached !== undefined) flag('CRITICAL', `${s.name} dropped, needs a new base backup and --reset-slave`);
    for (const name of conflicts) flag('CRITICAL', `${s.name} holds a different ${name}`);
    if (scan.files.length > 0) {
      const what = `${s.name}: ${scan.files.length} queued (${humanBytes(bytes)}), oldest ${oldestAgeS}s`;
      let state: NagiosState = 'OK';
      if (thresholds.warnBytes !== null && bytes >= thresholds.warnBytes) state = 'WARNING';
      if (oldestAgeS > thresholds.warnAgeS) state = 'WARNING';
      if (thresholds.criticalBytes !== null && bytes >= thresholds.criticalBytes) state = 'CRITICAL';
      if (oldestAgeS > thresholds.critAgeS) state = 'CRITICAL';
      flag(state, what);
    }
    slaves.push(sc);
  }
  // Empty queues prove nothing when PostgreSQL hands us no WAL (a standby after a failover, archive_command not ours).
  const server = (await (o.server ?? ((x) => localServerArchiving(x, '--check')))(c)) ?? null;
  let state: NagiosState = offline || server?.problem !== undefined ? 'WARNING' : 'OK';
  for (const s of slaves) state = worse(state, s.state);
  const problems = [
    ...(offline ? ['archiving is offline (state: offline)'] : []),
    ...(server?.problem !== undefined ? [server.problem] : []),
    ...slaves.flatMap((s) => s.problems),
  ];
  const summary = problems.length > 0 ? problems.join('; ') : `${slaves.length} slaves, all queues empty`;
  const daemonPid = (await runningDaemon(c.l_archivedir)) ?? null;
  return { ...base, state, code: NAGIOS[state], summary, slaves, daemonPid, server };
}

const num = (n: number | null): string => (n === null ? '' : String(n));

/** The report as core's one Nagios shape (service PITR_ARCHIVER). */
export function checkResult(r: CheckReport): NagiosResult {
  const t = r.thresholds;
  const perf = r.slaves.flatMap((s) => [
    `'queue_bytes_${s.name}'=${s.bytes}B;${num(t.warnBytes)};${num(t.criticalBytes)};0`,
    `'queue_files_${s.name}'=${s.files};;;0`,
    `'oldest_age_${s.name}'=${s.oldestAgeS}s;${t.warnAgeS};${t.critAgeS};0`,
  ]);
  return nagiosResult('PITR_ARCHIVER', r.state, r.summary, perf);
}

/** The plugin's output: `PITR_ARCHIVER STATE - text | perfdata`. */
export function formatNagios(r: CheckReport): string {
  return nagiosText(checkResult(r));
}

/**
 * Alert hooks: notify_ok / notify_warning / notify_critical. The configured command line is split
 * into words without a shell, the message is appended as ONE argument, the facts are passed in
 * PITR_* environment variables, and a time limit applies. A hook's failure is logged and never
 * changes the outcome of the operation that raised it.
 */
import { hostname } from 'node:os';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { runProcess, type ProcResult } from './proc.js';
import { splitWords } from './words.js';

/** Nagios-style levels; PITR_LEVEL carries them. */
export type AlertLevel = 'OK' | 'WARNING' | 'CRITICAL';

/** One alert: what happened, to what. */
export interface Alert {
  level: AlertLevel;
  /** Stable event name for scripts, e.g. `slave_unreachable`, `archive_conflict`, `failover_done`. */
  event: string;
  message: string;
  role: 'archiver' | 'standby';
  segment?: string;
  slave?: string;
}

/** The configured hook command lines; an empty or missing one means no hook for that level. */
export interface HookConfig {
  notify_ok?: string | undefined;
  notify_warning?: string | undefined;
  notify_critical?: string | undefined;
  /** Seconds. */
  hook_timeout?: number | undefined;
}

/** Outcome of one hook run, for logs and tests. */
export interface HookOutcome {
  ran: boolean;
  argv?: string[];
  result?: ProcResult;
  error?: string;
}

/** Checks that a configured hook command line can be split (unbalanced quotes are a config error). */
export function validateHookCommand(line: string): string | undefined {
  try {
    const words = splitWords(line);
    return words.length === 0 ? 'is empty' : undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** The environment a hook receives: ours on top of the caller's, minus nothing secret we know of. */
export function hookEnvironment(alert: Alert, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    PITR_LEVEL: alert.level,
    PITR_EVENT: alert.event,
    PITR_MESSAGE: alert.message,
    PITR_HOST: hostname(),
    PITR_ROLE: alert.role,
    PITR_TIME: new Date().toISOString(),
  };
  delete env.PGPASSWORD;
  if (alert.segment !== undefined) env.PITR_SEGMENT = alert.segment;
  if (alert.slave !== undefined) env.PITR_SLAVE = alert.slave;
  return env;
}

/** Runs the hook configured for the alert's level. Never throws; the result is logged. */
export async function raiseAlert(hooks: HookConfig, alert: Alert, log: Logger): Promise<HookOutcome> {
  const line = alert.level === 'OK' ? hooks.notify_ok : alert.level === 'WARNING' ? hooks.notify_warning : hooks.notify_critical;
  const logAt = alert.level === 'CRITICAL' ? log.critical : alert.level === 'WARNING' ? log.warning : log.info;
  logAt(`${alert.message}`);
  if (line === undefined || line.trim() === '') return { ran: false };
  let argv: string[];
  try {
    argv = [...splitWords(line), alert.message];
  } catch (err) {
    const error = `notify hook not run: ${errorMessage(err)}`;
    log.error(error);
    return { ran: false, error };
  }
  const timeoutMs = Math.max(1, hooks.hook_timeout ?? 30) * 1000;
  const result = await runProcess(argv, { env: hookEnvironment(alert), timeoutMs, maxOutput: 4096 });
  const name = argv[0];
  if (result.spawnError) log.error(`notify hook ${name} could not start: ${result.spawnError.message}`);
  else if (result.timedOut) log.error(`notify hook ${name} did not finish within ${timeoutMs / 1000}s and was killed`);
  else if (result.code !== 0)
    log.error(`notify hook ${name} failed (${result.signal ?? `exit ${result.code}`})${result.stderr ? `: ${result.stderr.trim().split('\n')[0]}` : ''}`);
  else log.debug(`notify hook ${name} ran (${result.durationMs} ms)`);
  return { ran: true, argv, result };
}

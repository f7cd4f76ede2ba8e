/**
 * The one place cmd_standby decides what a run does. Every flag of the "Actions" group of
 * cli-options.ts is an action, and two of them are refused alike, whichever they are: an action
 * checked anywhere else (--check and --status used to answer before the count) silently drops
 * the other one. Likewise an option that means something only with some actions (its `with`)
 * is refused without them instead of being ignored.
 */
import { PitrError } from '@pitrtools/core/errors';
import { ACTIONS } from '../commands/action.js';
import { GROUPS, STANDBY_OPTIONS } from '../cli-options.js';

/** The parsed flags as yargs gives them (kebab-case keys as in STANDBY_OPTIONS, aliases too). */
export type ParsedFlags = Readonly<Record<string, unknown>>;

const given = (v: unknown): boolean => v !== undefined && v !== false;

/** How messages name an option: its label, else its one-letter alias, else --key. */
export function optionLabel(key: string): string {
  const o = STANDBY_OPTIONS[key];
  if (o?.label !== undefined) return o.label;
  return typeof o?.alias === 'string' ? `-${o.alias}` : `--${key}`;
}

const ACTION_KEYS = Object.keys(STANDBY_OPTIONS).filter((k) => STANDBY_OPTIONS[k]!.group === GROUPS.actions);
// Short flags that take a value: what follows them in the same argument is that value (-F999, -Cfile).
const VALUE_LETTERS = 'CFRA';

/** The option keys an argument names as typed: --key, --key=v, or -X / a cluster -XY (up to a value flag). */
function keysNamedBy(arg: string): string[] {
  const long = /^--([^=]+)(=|$)/.exec(arg);
  if (long) return STANDBY_OPTIONS[long[1]!] !== undefined ? [long[1]!] : [];
  if (!/^-[A-Za-z]/.test(arg)) return [];
  const keys: string[] = [];
  for (const c of arg.slice(1)) {
    const key = Object.keys(STANDBY_OPTIONS).find((k) => STANDBY_OPTIONS[k]!.alias === c);
    if (key !== undefined) keys.push(key);
    if (VALUE_LETTERS.includes(c) || key === undefined) break;
  }
  return keys;
}

/** Whether `argv` names an action other than --patroni-replica (such a run is refused as two actions, not read as Patroni's). */
export function namesAnotherAction(argv: readonly string[]): boolean {
  return argv.some((a) => !a.includes('=') && keysNamedBy(a).some((k) => k !== 'patroni-replica' && ACTION_KEYS.includes(k)));
}

/** The actions `f` asks for, in the order they were typed in `argv` (then in --help order). */
function chosenActions(f: ParsedFlags, argv: readonly string[]): string[] {
  const typedAt = (key: string): number => {
    const i = argv.findIndex((a) => keysNamedBy(a).includes(key));
    return i < 0 ? Infinity : i;
  };
  return ACTION_KEYS.filter((k) => given(f[k])).sort((a, b) => typedAt(a) - typedAt(b));
}

/**
 * Checks the flags before anything is loaded and returns the chosen action as messages name it
 * (-I, -F999, --check ...; undefined: none). Throws USAGE, e.g. "choose one action, not -S and --check".
 */
export function chooseAction(f: ParsedFlags, argv: readonly string[]): string | undefined {
  const usage = (message: string): PitrError => new PitrError('USAGE', message);
  const keys = chosenActions(f, argv);
  const chosen = keys.map(optionLabel);
  if (chosen.length > 1) throw usage(`choose one action, not ${chosen.join(' and ')}`);
  if (given(f.recovertotime) && !given(f.failover)) throw usage('-R needs -F999 (point-in-time recovery is a kind of failover)');
  for (const [key, o] of Object.entries(STANDBY_OPTIONS)) {
    if (o.with === undefined || !given(f[key]) || o.with.some((a) => given(f[a]))) continue;
    throw usage(`${optionLabel(key)} goes with ${o.with.map(optionLabel).join(' or ')}`);
  }
  const action = chosen[0];
  if (f.json === true && (action === undefined || action === '--receive-wal'))
    throw usage('--json goes with --check, --status, --list-backups or an action (-I, -B, -S, -F999, -P, -A, --follow, --rejoin, --switchover, --backup ...)');
  if (f['restore-backup'] === '') throw usage('--restore-backup needs the label of a set (cmd_standby -C <ini> --list-backups shows them)');
  const F = f.failover;
  if (typeof F === 'string' && F !== '999') throw usage(`-F takes the value 999 (as in -F999), not '${F}'`);
  const A = f.action;
  if (typeof A === 'string' && !(ACTIONS as readonly string[]).includes(A)) throw usage(`-A takes ${ACTIONS.join(', ')}, not '${A}'`);
  if (action === '--restore' || action === '--cleanup') {
    throw usage(`${action} must be used alone, as PostgreSQL runs it: cmd_standby -C <ini> ${action} ...`);
  }
  if (action === '--patroni-replica') throw usage('--patroni-replica is run by Patroni with its --key=value arguments (docs/patroni.md)');
  return action;
}

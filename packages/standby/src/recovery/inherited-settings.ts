/**
 * Settings that arrive with the copy: -B copies the master's postgresql.auto.conf (ALTER SYSTEM),
 * which the server reads after postgresql.conf and our pitrtools.conf, so any line there wins over
 * ours. A master's recovery_target_time + recovery_target_action = 'promote' would make the standby
 * leave recovery by itself while the master runs (split brain). This pure part comments such lines
 * out, saying why and when; settings-files.ts writes the file and the commands verify the result
 * with `postgres -C`.
 */
import { parseConfLine } from '@pitrtools/core/pg/conf-value';

const OVERRIDES_OURS = 'override what cmd_standby writes into pitrtools.conf';
const LEAVES_RECOVERY = 'make this server stop following the master at a recovery target (and promote, pause or shut down there)';

/** The settings a copy must not bring along, and what each would do (for the comment and the log). */
export const INHERITED: Readonly<Record<string, string>> = {
  restore_command: OVERRIDES_OURS,
  archive_cleanup_command: OVERRIDES_OURS,
  recovery_end_command: 'run a command of the master at the end of recovery',
  primary_conninfo: `${OVERRIDES_OURS} (stream from where the master pointed)`,
  primary_slot_name: 'stream through a replication slot cmd_standby did not ask for (a missing slot stops streaming)',
  recovery_target: LEAVES_RECOVERY,
  recovery_target_name: LEAVES_RECOVERY,
  recovery_target_time: LEAVES_RECOVERY,
  recovery_target_xid: LEAVES_RECOVERY,
  recovery_target_lsn: LEAVES_RECOVERY,
  recovery_target_inclusive: LEAVES_RECOVERY,
  recovery_target_action: LEAVES_RECOVERY,
  recovery_target_timeline: OVERRIDES_OURS,
  promote_trigger_file: "promote this server when a file of the master's choosing appears (PostgreSQL 15 and older)",
  hot_standby: OVERRIDES_OURS,
  archive_command: "make this server, once promoted by -F999 or -R, archive with the old master's command (pg_conf_failover decides instead)",
  archive_library: "make this server, once promoted by -F999 or -R, archive with the old master's module (pg_conf_failover decides instead)",
};

/** One line that was commented out. */
export interface DisabledLine {
  name: string;
  /** 1-based line number in the file as it was. */
  line: number;
  /** What the setting would have done. */
  why: string;
}

/** The rewritten text and what was disabled; `text` is unchanged when nothing was. */
export interface Neutralised {
  text: string;
  disabled: DisabledLine[];
}

/**
 * Comments out every active line of postgresql.auto.conf text that sets one of INHERITED (names
 * matched case-insensitively, every duplicate, quoted values with # inside read as the server's
 * lexer reads them), each after a line `# disabled by cmd_standby COMMAND on STAMP: ...`.
 */
export function neutraliseAutoConf(text: string, command: string, stamp: string): Neutralised {
  const disabled: DisabledLine[] = [];
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((raw, i) => {
    const p = parseConfLine(raw);
    const why = p.kind === 'setting' ? INHERITED[p.name] : undefined;
    if (p.kind !== 'setting' || why === undefined) {
      out.push(raw);
      return;
    }
    disabled.push({ name: p.name, line: i + 1, why });
    out.push(`# disabled by cmd_standby ${command} on ${stamp}: set on the master by ALTER SYSTEM; it would ${why}`, `# ${raw}`);
  });
  return { text: disabled.length === 0 ? text : out.join('\n'), disabled };
}

/** Recovery targets a standby (-S, -F999 before its promote) must not have: any of them ends its recovery. */
export const STANDBY_NO_TARGET = ['recovery_target', 'recovery_target_name', 'recovery_target_time', 'recovery_target_xid', 'recovery_target_lsn'] as const;

/** The targets -R must not have besides its recovery_target_time (PostgreSQL refuses more than one). */
export const PITR_NO_OTHER_TARGET = ['recovery_target', 'recovery_target_name', 'recovery_target_xid', 'recovery_target_lsn'] as const;

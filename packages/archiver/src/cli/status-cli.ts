/**
 * --status output: a table for people, `--json` for machines, `--nagios` as one plugin line for
 * the whole cluster (exit 0-3). Errors of the arguments or the ini are UNKNOWN with --nagios.
 */
import { humanBytes } from '@pitrtools/core/bytes';
import { loadConfig } from '@pitrtools/core/config/load';
import { createLogger } from '@pitrtools/core/log';
import { assertNotRoot } from '@pitrtools/core/root-guard';
import { stderrSink } from '@pitrtools/cli/output';
import type { ClusterStatus } from '../commands/status.js';
import { nagiosJson, nagiosResult, nagiosText, type NagiosResult } from '@pitrtools/core/nagios';

/** Runs --status and prints it; returns 0 (table, JSON) or the Nagios code (--nagios). */
export async function runStatus(configFile: string, o: { json: boolean; nagios: boolean; verbose: boolean }): Promise<number> {
  assertNotRoot('cmd_archiver');
  const { config } = loadConfig(configFile, 'archiver');
  const log = createLogger(stderrSink, { debug: o.verbose || config.debug });
  const { statusCommand } = await import('../commands/status.js');
  const r = await statusCommand({ config, log });
  process.stdout.write(`${o.json ? JSON.stringify(nagiosJson(clusterResult(r), r)) : o.nagios ? nagiosText(clusterResult(r)) : formatStatusTable(r)}\n`);
  return o.nagios ? r.code : 0;
}

/** The whole cluster as core's one Nagios shape (service PITR_CLUSTER). */
export function clusterResult(r: ClusterStatus): NagiosResult {
  const perf = r.slaves.flatMap((s) => [`'reachable_${s.name}'=${s.reachable ? 1 : 0};;;0;1`, `'queue_bytes_${s.name}'=${s.queue.bytes}B;;;0`]);
  for (const x of r.replication) if (x.replayLagBytes !== null) perf.push(`'replay_lag_${x.applicationName}'=${x.replayLagBytes}B;;;0`);
  for (const x of r.slots) if (x.heldBytes !== null) perf.push(`'slot_held_${x.slotName}'=${x.heldBytes}B;;;0`);
  return nagiosResult('PITR_CLUSTER', r.state, r.summary, perf);
}

/** Columns padded to their widest cell. */
function table(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows].map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** How the local server archives, for the master line ('' when it was not asked). */
function serverArchiving(m: ClusterStatus['master']): string {
  switch (m.archiving) {
    case 'cmd_archiver':
      return `; archive_command runs cmd_archiver${m.inRecovery === true ? ' (in recovery, archive_mode = always)' : ''}`;
    case 'in-recovery':
      return '; IN RECOVERY (a standby): archives nothing';
    case 'mode-off':
      return '; archive_mode OFF';
    case 'library':
      return `; archive_library '${m.archiveLibrary ?? ''}' instead of cmd_archiver`;
    case 'empty':
      return '; archive_command EMPTY';
    case 'other':
      return '; archive_command is NOT cmd_archiver with this ini';
    default:
      return '';
  }
}

/** The view for people. */
export function formatStatusTable(r: ClusterStatus): string {
  const lines = [
    `${r.state}: ${r.summary}`,
    `master: ${r.master.lsn !== undefined ? `WAL at ${r.master.lsn}` : `not asked: ${r.master.error}`}${serverArchiving(r.master)}; archiving ${r.offline ? 'OFFLINE' : 'online'}; ` +
      `cmd_queue ${r.daemonPid !== null ? `running (pid ${r.daemonPid})` : 'not running'}; ${r.configFile}`,
    '',
    ...table(
      ['SLAVE', 'SSH', 'COMPRESS', 'NEWEST SEGMENT', 'QUEUE', 'STANDBY CHECK'],
      r.slaves.map((s) => [
        `${s.name} (${s.endpoint})`,
        s.reachable ? 'up' : `DOWN: ${s.error ?? ''}`,
        s.compress,
        s.newestSegment ?? '-',
        s.queue.detached !== null
          ? 'DROPPED (needs -B)'
          : s.queue.files === 0
            ? 'empty'
            : `${s.queue.files} files, ${humanBytes(s.queue.bytes)}, oldest ${s.queue.oldestAgeS} s`,
        s.standby ? `${s.standby.status}${s.standby.text ? ` - ${s.standby.text}` : ''}` : '-',
      ]),
    ),
  ];
  if (r.replication.length > 0) {
    lines.push(
      '',
      ...table(
        ['STREAMING (pg_stat_replication)', 'CLIENT', 'STATE', 'REPLAYED', 'REPLAY LAG'],
        r.replication.map((x) => [
          x.applicationName,
          x.clientAddr ?? 'local',
          x.state,
          x.replayLsn ?? '-',
          `${x.replayLagBytes ?? '?'} B${x.replayLagSeconds !== null ? `, ${x.replayLagSeconds.toFixed(1)} s` : ''}`,
        ]),
      ),
    );
  }
  if (r.slots.length > 0) {
    lines.push(
      '',
      ...table(
        ['SLOT', 'TYPE', 'ACTIVE', 'RESTART LSN', 'WAL HELD', 'WAL STATUS'],
        r.slots.map((x) => [
          x.slotName,
          x.slotType,
          x.active ? 'yes' : 'NO',
          x.restartLsn ?? '-',
          x.heldBytes === null ? '-' : humanBytes(x.heldBytes),
          x.walStatus ?? '-',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

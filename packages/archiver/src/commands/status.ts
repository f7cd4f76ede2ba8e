/**
 * cmd_archiver --status: one read-only view of the cluster from the master (repmgr's `cluster
 * show`). Per slave: reachable over SSH or why not, its compress, the newest segment in its r_archivedir, its
 * queue (as --check reads it), and, when the slave's own cmd_standby ini is known (slave_config,
 * as walmgr's), that standby's `--check --json` run over SSH. From the local server:
 * pg_current_wal_lsn(), pg_stat_replication and the replication slots. Nothing is written.
 */
import { userInfo } from 'node:os';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { resolveSlaves, type SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import { formatCompress } from '@pitrtools/core/compress';
import { errorMessage } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { withPg } from '@pitrtools/core/pg/client';
import { localServer } from '@pitrtools/core/pg/local-server';
import { listSlots } from '@pitrtools/core/pg/slots';
import { connectSsh, type SshSession } from '@pitrtools/core/ssh/index';
import { walKind } from '@pitrtools/core/wal';
import { sshTargetOf } from '../adapters/ssh-link.js';
import { readServerArchiving, type ServerArchiving } from '../pg/server-archiving.js';
import { checkCommand, NAGIOS, type NagiosState, type SlaveCheck } from './check.js';

/** A standby's own `cmd_standby --check --json`, as run over SSH. */
export interface StandbyCheck {
  status: NagiosState;
  text: string;
  /** The whole JSON object it printed. */
  facts?: Record<string, unknown>;
}

/** One slave as --status sees it. */
export interface SlaveStatus {
  name: string;
  endpoint: string;
  reachable: boolean;
  /** Why SSH or the listing failed. */
  error?: string;
  /** Newest WAL segment name in r_archivedir. */
  newestSegment?: string;
  /** The slave's configured `compress` (none, lz4, zstd, zstd:LEVEL; from rsync_flags -z too), normalised; a slave whose receiver cannot start still gets SFTP. */
  compress: string;
  queue: SlaveCheck;
  standby?: StandbyCheck;
  state: NagiosState;
  problems: string[];
}

/** A row of pg_stat_replication; bytes are master minus the standby's position. */
export interface ReplicationRow {
  applicationName: string;
  clientAddr: string | null;
  state: string;
  replayLsn: string | null;
  replayLagBytes: number | null;
  /** replay_lag, seconds (PostgreSQL's own measure; null when idle). */
  replayLagSeconds: number | null;
}

/** A replication slot; `heldBytes`: WAL it keeps on the master (current LSN minus restart_lsn). */
export interface SlotRow {
  slotName: string;
  slotType: string;
  active: boolean;
  restartLsn: string | null;
  heldBytes: number | null;
  walStatus: string | null;
}

/** Everything --status prints, as --json prints it. */
export interface ClusterStatus {
  state: NagiosState;
  code: number;
  summary: string;
  configFile: string;
  offline: boolean;
  daemonPid: number | null;
  /**
   * The local server (the master this ini names), when it answered: its WAL position (the replayed
   * one while in recovery) and whether it archives with this ini (ServerArchiving: inRecovery,
   * archiving, archiveMode, archiveCommand, archiveLibrary, problem); else `error`.
   */
  master: { lsn?: string; error?: string } & Partial<ServerArchiving>;
  slaves: SlaveStatus[];
  replication: ReplicationRow[];
  slots: SlotRow[];
}

/** Options of statusCommand. */
export interface StatusOptions {
  config: ArchiverConfig;
  log: Logger;
}

const worse = (a: NagiosState, b: NagiosState): NagiosState => (NAGIOS[b] > NAGIOS[a] ? b : a);

/** Looks at every slave (in parallel, each bounded by its ssh_timeout) and the local server. */
export async function statusCommand(o: StatusOptions): Promise<ClusterStatus> {
  const { config, log } = o;
  // The server is judged below, in the session that reads its position.
  const queues = await checkCommand({ config, server: () => Promise.resolve(undefined) });
  const targets = resolveSlaves(config);
  // --check answers for l_archivedir as a whole when it cannot read the queues (not there before
  // -I, not ours): no row per slave. Each slave then carries that state, and its reason is said once.
  const unread = targets.some((t) => !queues.slaves.some((q) => q.name === t.name));
  const queueOf = (name: string): SlaveCheck =>
    queues.slaves.find((q) => q.name === name) ?? { name, state: queues.state, files: 0, bytes: 0, oldestAgeS: 0, detached: null, conflicts: [], problems: [] };
  const [slaves, local] = await Promise.all([Promise.all(targets.map((t) => slaveStatus(config, t, queueOf(t.name), log))), localFacts(config)]);
  let state: NagiosState = queues.offline ? 'WARNING' : 'OK';
  for (const s of slaves) state = worse(state, s.state);
  if (local.master.error !== undefined || local.master.problem !== undefined) state = worse(state, 'WARNING');
  const problems = [
    ...(unread ? [queues.summary] : []),
    ...(queues.offline ? ['archiving is offline (state: offline)'] : []),
    ...(local.master.error !== undefined ? [`the local server: ${local.master.error}`] : []),
    ...(local.master.problem !== undefined ? [local.master.problem] : []),
    ...slaves.flatMap((s) => s.problems),
  ];
  const up = slaves.filter((s) => s.reachable).length;
  return {
    state,
    code: NAGIOS[state],
    configFile: config.file,
    offline: queues.offline,
    daemonPid: queues.daemonPid,
    summary: problems.length > 0 ? problems.join('; ') : `${slaves.length} slaves, ${up} reachable, queues empty`,
    slaves,
    ...local,
  };
}

async function slaveStatus(config: ArchiverConfig, t: SlaveTarget, queue: SlaveCheck, log: Logger): Promise<SlaveStatus> {
  const s: SlaveStatus = {
    name: t.name,
    endpoint: `${t.user}@${t.host}:${t.port}`,
    reachable: false,
    compress: formatCompress(t.compress),
    queue,
    state: queue.state,
    problems: [...queue.problems],
  };
  const flag = (state: NagiosState, text: string): void => {
    s.state = worse(s.state, state);
    s.problems.push(text);
  };
  const v = config.sections[t.entry]?.values ?? config;
  let session: SshSession | undefined;
  try {
    session = await connectSsh(sshTargetOf(t, config.ssh_debug, log), log);
    s.reachable = true;
    const names = (await session.readdir(t.r_archivedir))
      .map((e) => e.name)
      .filter((n) => walKind(n) === 'segment')
      .sort();
    if (names.length > 0) s.newestSegment = names[names.length - 1]!;
    if (v.slave_config !== undefined) s.standby = await standbyCheck(session, v.slave_cmd_standby, v.slave_config, t.connectTimeoutMs);
  } catch (err) {
    s.error = errorMessage(err);
    flag('CRITICAL', `${t.name} ${s.reachable ? `r_archivedir ${t.r_archivedir} cannot be listed` : 'unreachable'}: ${s.error}`);
  } finally {
    await session?.close().catch(() => undefined);
  }
  if (s.standby && s.standby.status !== 'OK') {
    flag(s.standby.status === 'UNKNOWN' ? 'WARNING' : s.standby.status, `${t.name}: standby check ${s.standby.status}: ${s.standby.text}`);
  }
  return s;
}

/** Runs the slave's `cmd_standby -C slave_config --check --json` (argv quoted for the remote shell). */
async function standbyCheck(session: SshSession, program: string, ini: string, timeoutMs: number): Promise<StandbyCheck> {
  try {
    // Its own --check asks its master (us) within its ssh_timeout: allow for that and the start.
    const r = await session.exec([program, '-C', ini, '--check', '--json'], { timeoutMs: 2 * timeoutMs + 15_000, maxBuffer: 1 << 20 });
    const facts = JSON.parse(r.stdout.toString('utf8')) as Record<string, unknown>;
    // The one Nagios JSON shape of both programs (core/nagios.ts): state and summary.
    const status = typeof facts.state === 'string' && facts.state in NAGIOS ? (facts.state as NagiosState) : 'UNKNOWN';
    return { status, text: typeof facts.summary === 'string' ? facts.summary : '', facts };
  } catch (err) {
    return { status: 'UNKNOWN', text: `${program} -C ${ini} --check --json did not answer: ${errorMessage(err)}` };
  }
}

async function localFacts(config: ArchiverConfig): Promise<Pick<ClusterStatus, 'master' | 'replication' | 'slots'>> {
  const server = await localServer(config.pgdata);
  if (!server.running || server.port === undefined) return { master: { error: `PostgreSQL is not running in ${config.pgdata}` }, replication: [], slots: [] };
  try {
    return await withPg(
      {
        ...(server.socketDir !== undefined ? { host: server.socketDir } : {}),
        port: server.port,
        user: userInfo().username,
        database: 'postgres',
        applicationName: 'cmd_archiver --status',
      },
      async (pg) => {
        const lsn = (
          await pg.query<{ lsn: string }>('SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text AS lsn')
        )[0]!.lsn;
        const replication = (
          await pg.query<{ a: string; c: string | null; s: string; r: string | null; b: string | null; l: number | null }>(
            `SELECT application_name AS a, client_addr::text AS c, state AS s, replay_lsn::text AS r,
                pg_wal_lsn_diff($1::pg_lsn, replay_lsn)::bigint::text AS b, extract(epoch FROM replay_lag)::float8 AS l
           FROM pg_stat_replication ORDER BY application_name`,
            [lsn],
          )
        ).map((x) => ({
          applicationName: x.a,
          clientAddr: x.c,
          state: x.s,
          replayLsn: x.r,
          replayLagBytes: x.b === null ? null : Number(x.b),
          replayLagSeconds: x.l,
        }));
        // core's query, the one cmd_standby --check judges slots with.
        const slots = (await listSlots(pg)).map((x) => ({
          slotName: x.name,
          slotType: x.type,
          active: x.active,
          restartLsn: x.restartLsn,
          heldBytes: x.retainedBytes,
          walStatus: x.walStatus,
        }));
        // A standby or a server whose archive_command is not ours archives nothing: --status says so.
        return { master: { lsn, ...(await readServerArchiving(pg, config, '--status')) }, replication, slots };
      },
    );
  } catch (err) {
    return { master: { error: errorMessage(err) }, replication: [], slots: [] };
  }
}

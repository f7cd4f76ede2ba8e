/**
 * --rejoin: run on an old master (ini naming the new master) to make it a standby of the new one.
 * A running server is refused unless --force (it may take writes that the rejoin throws away). Then,
 * from pg_control and the new master's timeline history: a clean stop before the fork needs
 * nothing; otherwise pg_rewind through the SSH tunnel when possible, else the delta -B. Finally
 * our standby settings go back in and the server starts as a standby (recovery_target_timeline
 * latest, streaming from the new master as -S does). Hook: rejoin_done.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { raiseAlert } from '@pitrtools/core/alerts';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import { cleanlyShutDown, parseControlPrefix } from '@pitrtools/core/pg/control-file';
import { requireHelpers } from '@pitrtools/core/pg/helpers';
import { isDataDirectory, localServer } from '@pitrtools/core/pg/local-server';
import type { PgBinaries } from '@pitrtools/core/pg/binaries';
import type { Ctx } from '../context.js';
import { connectLocal, localBinaries, startServer, stopServer, waitForServer } from '../local/server.js';
import { findPgRewind, keepOwnFiles, rewindBlocker, runPgRewind } from '../local/rewind.js';
import { withMasterLink } from '../master-link.js';
import { startReceiver } from '../receiver/control.js';
import { lsnText } from '../recovery/wal-file-check.js';
import { parseHistory, rejoinVerdict, type HistoryEntry, type RejoinVerdict } from '../recovery/timeline-history.js';
import { historyProblem } from '../recovery/wal-file-check.js';
import { INCOMPLETE_MARKER } from '../state-files.js';
import { basebackup, type BasebackupResult } from './basebackup.js';
import { dropFormerMasterSlots, ensureStandbySlot } from '../replication/standby-slot.js';
import { prepareStandby } from './standby.js';

/** Options of --rejoin. */
export interface RejoinOptions {
  iniPath: string;
  /** --force: stop a running local server (its writes after the fork are lost). */
  force?: boolean;
  waitMs?: number;
}

/** How the data directory was brought onto the new master's timeline. */
export type RejoinMethod = 'none' | 'pg_rewind' | 'basebackup';

/** How the copy was brought over; `reason` says why -B was used (or why nothing was needed). */
export interface RejoinWay {
  method: RejoinMethod;
  reason: string;
  /** The delta base backup's figures, when method is 'basebackup'. */
  basebackup?: BasebackupResult;
}

/** What --rejoin did: the way, in words (`how`), and the new master it now follows. */
export interface RejoinResult extends RejoinWay {
  how: string;
  master: { host: string; port: number };
}

/** Runs --rejoin; throws SERVER_RUNNING (exit 1) for a running server without --force, NOT_A_MASTER when the ini's master is in recovery. */
export async function rejoin(ctx: Ctx, o: RejoinOptions): Promise<RejoinResult> {
  const { config, log } = ctx;
  const { pgdata } = config;
  if (!(await isDataDirectory(pgdata))) {
    throw new PitrError('NO_COPY', `cannot rejoin: ${pgdata} holds no data directory (no PG_VERSION or global/pg_control)`, {
      hint: `check pgdata in ${config.file}, or make a new standby: cmd_standby -C ${o.iniPath} -I, -B, -S`,
    });
  }
  const bins = await localBinaries(config);
  await stopIfRunning(ctx, bins, o.force === true, 'check');
  // The new master is asked before --force stops anything: the old master must have somewhere to go.
  const theirs = await readNewMaster(ctx);
  await requireSameCluster(ctx, theirs);
  await stopIfRunning(ctx, bins, o.force === true, 'stop');
  const verdict = await judgeFork(ctx, theirs);
  let result: RejoinWay;
  const incomplete = await fsp.access(join(pgdata, INCOMPLETE_MARKER)).then(
    () => true,
    () => false,
  );
  if (incomplete) result = await viaBasebackup(ctx, `an earlier -B did not finish (${INCOMPLETE_MARKER})`);
  else if (verdict.kind === 'no-rewind') {
    result = { method: 'none', reason: `it stopped cleanly${verdict.switchpoint !== undefined ? ` before the fork at ${lsnText(verdict.switchpoint)}` : ''}` };
  } else result = await rewindOrCopy(ctx, bins, verdict.why);
  await startAsStandbyOfNewMaster(ctx, o, bins);
  const how =
    result.method === 'pg_rewind'
      ? 'rewound with pg_rewind'
      : result.method === 'basebackup'
        ? `re-synced with the delta base backup (-B): ${result.reason}`
        : `no rewind needed: ${result.reason}`;
  await raiseAlert(config, { level: 'OK', event: 'rejoin_done', message: `rejoined as a standby of the new master (${how})`, role: 'standby' }, log);
  return { ...result, how, master: { host: config.master_public_ip, port: config.port } };
}

/** A running local server: refused without --force ('check'), stopped fast with a warning ('stop'). */
async function stopIfRunning(ctx: Ctx, bins: PgBinaries, force: boolean, step: 'check' | 'stop'): Promise<void> {
  const { config, log } = ctx;
  const s = await localServer(config.pgdata);
  if (!s.running) return;
  if (!force) {
    throw new PitrError(
      'SERVER_RUNNING',
      `refusing to rejoin: the local PostgreSQL runs (pid ${s.pid}, ${config.pgdata}); as the old master it accepts writes from clients, and every write after the new master's timeline forked would be lost by the rejoin`,
      {
        hint: `move the clients to the new master and stop it (cmd_standby -C ${config.file} -A stop), or let --rejoin --force stop it`,
      },
    );
  }
  if (step === 'check') return;
  let master = true;
  try {
    const c = await connectLocal(config);
    try {
      master = !(await c.scalar<boolean>('SELECT pg_is_in_recovery()'));
    } finally {
      await c.end();
    }
  } catch (err) {
    log.debug(`could not ask the local server whether it is in recovery: ${errorMessage(err)}`);
  }
  log.warning(
    master
      ? `--force: stopping the local PostgreSQL (pid ${s.pid}), which runs as a master and accepts writes from clients: every write it took after the new master's timeline forked will be lost`
      : `--force: stopping the local PostgreSQL (pid ${s.pid}, in recovery)`,
  );
  await stopServer(config, bins, log);
}

/** The new master's timeline and its history. */
interface NewMaster {
  systemIdentifier: string;
  where: string;
  tli: number;
  history: HistoryEntry[];
}

/** Reads the new master's timeline and history file (SFTP); refuses (NOT_A_MASTER) when the ini's master is itself in recovery. */
async function readNewMaster(ctx: Ctx): Promise<NewMaster> {
  const { config, log } = ctx;
  return withMasterLink(config, log, { applicationName: 'pitrtools rejoin' }, async (l) => {
    await requireHelpers(l.pg, l.where);
    const info = (
      await l.pg.query<{ in_recovery: boolean; data_directory: string; tli: string; system_identifier: string }>(
        "SELECT in_recovery, data_directory, system_identifier, CASE WHEN in_recovery THEN '' ELSE substr(pg_walfile_name(current_lsn), 1, 8) END AS tli FROM cmd_server_info()",
      )
    )[0]!;
    if (info.in_recovery) {
      throw new PitrError('NEW_MASTER_IN_RECOVERY', `refusing to rejoin: the server named in ${config.file} (${l.where}) is in recovery, not the new master`, {
        hint: 'set master_public_ip (and port) to the promoted server, then run --rejoin again',
      });
    }
    const theirTli = parseInt(info.tli, 16);
    let history: HistoryEntry[] = [];
    if (theirTli > 1) {
      const name = `${info.tli}.history`;
      const text = (await l.ssh.readFile(`${info.data_directory}/pg_wal/${name}`)).toString('utf8');
      const problem = historyProblem(name, text);
      if (problem !== undefined) throw new Error(`${name}: ${problem}`);
      history = parseHistory(text);
    }
    return { systemIdentifier: info.system_identifier, where: l.where, tli: theirTli, history };
  });
}

/** Refuses (OTHER_CLUSTER, exit 1) when the new master's system identifier is not ours: -B would replace this cluster. */
async function requireSameCluster(ctx: Ctx, theirs: NewMaster): Promise<void> {
  const controlPath = join(ctx.config.pgdata, 'global', 'pg_control');
  const ours = parseControlPrefix(await fsp.readFile(controlPath), controlPath);
  if (String(ours.systemIdentifier) !== theirs.systemIdentifier) {
    throw new PitrError(
      'OTHER_CLUSTER',
      `refusing to rejoin: the master named in ${ctx.config.file} (${theirs.where}) is another cluster (system identifier ${theirs.systemIdentifier}, this one ${ours.systemIdentifier}); a rejoin would replace this data directory with a copy of it`,
      {
        hint: 'check master_public_ip and port; to make this host a new standby of that cluster anyway, use -B and -S',
      },
    );
  }
}

/** Our pg_control (read after any stop) against the new master's history. */
async function judgeFork(ctx: Ctx, theirs: NewMaster): Promise<RejoinVerdict> {
  const controlPath = join(ctx.config.pgdata, 'global', 'pg_control');
  const ours = parseControlPrefix(await fsp.readFile(controlPath), controlPath);
  const v = rejoinVerdict(ours.timeline, ours.checkpoint, cleanlyShutDown(ours), theirs.tli, theirs.history);
  ctx.log.info(
    `this server: timeline ${ours.timeline}, ${ours.state}, last checkpoint at ${lsnText(ours.checkpoint)}; the new master: timeline ${theirs.tli}` +
      `${v.kind !== 'unrelated' && v.switchpoint !== undefined ? `, forked from timeline ${ours.timeline} at ${lsnText(v.switchpoint)}` : ''}`,
  );
  return v;
}

async function rewindOrCopy(ctx: Ctx, bins: PgBinaries, why: string): Promise<RejoinWay> {
  const { config, log } = ctx;
  log.info(`a rewind is needed: ${why}`);
  const tool = findPgRewind(config, bins);
  if ('missing' in tool) return viaBasebackup(ctx, tool.missing);
  const blocker = await rewindBlocker(tool.path, config.pgdata);
  if (blocker !== undefined) return viaBasebackup(ctx, blocker);
  // pg_rewind takes the source's timeline from its pg_control, which names the new timeline only
  // after the checkpoint that follows the promotion; that one is spread over checkpoint_timeout.
  // PostgreSQL's pg_rewind documentation (Notes): run CHECKPOINT on a newly promoted source first.
  await withMasterLink(config, log, { applicationName: 'pitrtools rejoin' }, async (l) => {
    log.info(`CHECKPOINT on the new master (${l.where}), so that its pg_control names its timeline for pg_rewind`);
    // Needs superuser or pg_checkpoint (15+); without it pg_rewind may find nothing to do, and then the delta -B runs.
    await l.pg
      .query('CHECKPOINT')
      .catch((err: Error) =>
        log.warning(`CHECKPOINT on the new master failed (${err.message}): pg_rewind may see its old timeline and change nothing; then the delta -B runs`),
      );
  });
  const kept = await keepOwnFiles(config.pgdata, log);
  let run;
  try {
    run = await runPgRewind(config, tool.path, log);
  } finally {
    // pg_rewind copied the new master's postgresql.conf, pg_hba.conf and our state files: ours go back.
    await kept.restore();
  }
  if (!run.ok) return viaBasebackup(ctx, run.why);
  log.info(`rewound with pg_rewind (kept this host's ${kept.names.join(', ')})`);
  return { method: 'pg_rewind', reason: why };
}

async function viaBasebackup(ctx: Ctx, reason: string): Promise<RejoinWay> {
  ctx.log.warning(`pg_rewind not used: ${reason}; re-syncing with the delta base backup (-B), which sends only what differs`);
  return { method: 'basebackup', reason, basebackup: await basebackup(ctx) };
}

/**
 * The one place where this node becomes a standby of the new master: our standby settings (as -S:
 * pg_conf, pitrtools.conf with recovery_target_timeline latest and primary_conninfo, standby.signal,
 * inherited settings neutralised), start, wait, WAL receiver. Replication slots hook in here.
 */
async function startAsStandbyOfNewMaster(ctx: Ctx, o: RejoinOptions, bins: PgBinaries): Promise<void> {
  const { config, log } = ctx;
  // use_replication_slots: its own slot on the new master first, as -S makes it.
  const slot = await ensureStandbySlot(ctx);
  await prepareStandby(ctx, o.iniPath, bins, '--rejoin', slot?.name);
  const offset = await startServer(config, bins, log);
  await waitForServer(config, 'standby', offset, o.waitMs ?? 600_000, log);
  const local = await connectLocal(config);
  try {
    await dropFormerMasterSlots(local, log);
  } finally {
    await local.end();
  }
  await startReceiver(ctx, o.iniPath);
}

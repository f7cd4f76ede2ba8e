/**
 * --follow: re-point this standby (running or stopped) at the new master after a failover. Asks
 * the new master its timeline and that timeline's history (from archivedir, where its archiver
 * ships it, else read from its pg_wal through the master link), refuses when this standby has
 * replayed past the fork point (a rejoin is needed), rewrites the standby settings for the new
 * master (one call site: writeFollowSettings), reloads (primary_conninfo is reloadable since
 * PostgreSQL 13; all our majors) or starts the server, and waits until it streams from the new
 * master or, archive-only, has restored a segment of the new timeline.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { raiseAlert } from '@pitrtools/core/alerts';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { setIniKeys } from '@pitrtools/core/config/ini-edit';
import { PitrError, errorCode, errorMessage } from '@pitrtools/core/errors';
import { writeFileAtomic } from '@pitrtools/core/fs/atomic';
import { localServer } from '@pitrtools/core/pg/local-server';
import { walNameForLsn } from '@pitrtools/core/wal';
import type { Ctx } from '../context.js';
import { requireCompleteCopy } from '../local/copy-state.js';
import { connectLocal, localBinaries, startServer, stopServer, waitForServer } from '../local/server.js';
import { withMasterLink } from '../master-link.js';
import { lsnText } from '../recovery/wal-file-check.js';
import { lsnValue } from '../recovery/check-report.js';
import { forkVerdict, parseHistory, type HistoryEntry } from '../recovery/timeline-history.js';
import { prepareStandby } from './standby.js';
import { dropSlotIfUnused } from '@pitrtools/core/pg/slots';
import { ensureStandbySlot, standbySlotName } from '../replication/standby-slot.js';

/** The new master, when it is not (yet) what the ini says. */
export interface NewMaster {
  /** master_public_ip. */
  host: string;
  /** ssh_port. */
  sshPort?: number | undefined;
  /** port (its PostgreSQL). */
  port?: number | undefined;
}

/** Options of --follow. */
export interface FollowOptions {
  iniPath: string;
  /** --master / --master-port: written into the ini (master_public_ip, ssh_port, port) once the check passed. */
  master?: NewMaster | undefined;
  /** How long to wait for streaming (or a restored segment); default 5 min. */
  waitMs?: number;
}

/** What --follow did. */
export interface FollowResult {
  timeline: number;
  /** 'streaming' (pg_stat_wal_receiver) or 'archive' (a restored segment of the timeline). */
  via: 'streaming' | 'archive';
  /** "PostgreSQL host:port via ssh user@host:port" (the link's where without "master "). */
  master: string;
}

/** The new master's timeline and its history. */
interface MasterTimeline {
  timeline: number;
  history: HistoryEntry[];
  where: string;
}

const REJOIN_HINT = (ini: string): string => `cmd_standby -C ${ini} --rejoin (or a new base backup: -A stop, -B, -S)`;

/** Runs --follow. Throws REJOIN_NEEDED (exit 1) past the fork, NEW_MASTER_IN_RECOVERY (exit 1), FOLLOW_TIMEOUT (exit 1). */
export async function follow(ctx: Ctx, o: FollowOptions): Promise<FollowResult> {
  const target = withNewMaster(ctx.config, o.master);
  const tctx: Ctx = { ...ctx, config: target };
  const { log } = ctx;
  const running = (await localServer(target.pgdata)).running;
  if (!running) await requireCompleteCopy(target.pgdata, 'follow a new master (--follow)');
  const m = await askNewMaster(tctx);
  log.info(
    `the new master (${m.where}) writes timeline ${m.timeline}${m.history.length ? `; its history: ${m.history.map((e) => `${e.tli} until ${e.switchpoint}`).join(', ')}` : ''}`,
  );
  const bins = await localBinaries(target);
  let started = false;
  if (!running) {
    // Started with the new master's settings: the fork is checked on what it replays from archivedir.
    await writeFollowSettings(tctx, o.iniPath, bins);
    try {
      const offset = await startServer(target, bins, log);
      started = true;
      await waitForServer(target, 'standby', offset, o.waitMs ?? 300_000, log);
    } catch (err) {
      // PostgreSQL checks pg_control against the history itself at start-up (xlogrecovery.c).
      const fork = forkRefusal(errorMessage(err));
      if (started) await stopServer(target, bins, log).catch(() => undefined);
      await writeFollowSettings(ctx, o.iniPath, bins, { ensureSlot: false }).catch((e: unknown) =>
        log.warning(`could not write the settings for ${ctx.config.master_public_ip} back: ${errorMessage(e)}`),
      );
      if (fork === undefined) throw err;
      throw new PitrError('REJOIN_NEEDED', `a rejoin is needed: ${fork}; it cannot follow ${m.where} (timeline ${m.timeline})`, {
        hint: REJOIN_HINT(o.iniPath),
      });
    }
  }
  try {
    await checkFork(tctx, m, o.iniPath);
  } catch (err) {
    if (started) {
      // Back as it was: stopped, with the settings for the master the ini names.
      await stopServer(target, bins, log).catch(() => undefined);
      await writeFollowSettings(ctx, o.iniPath, bins, { ensureSlot: false }).catch((e: unknown) =>
        log.warning(`could not write the settings for ${ctx.config.master_public_ip} back: ${errorMessage(e)}`),
      );
    }
    throw err;
  }
  if (o.master !== undefined) await rewriteIni(target, o.master, log);
  if (running) {
    await writeFollowSettings(tctx, o.iniPath, bins);
    const s = await connectLocal(target);
    try {
      await s.query('SELECT pg_reload_conf()');
    } finally {
      await s.end();
    }
  }
  const via = target.use_streaming_replication ? 'streaming' : 'archive';
  await waitFollowing(tctx, m.timeline, via, o.waitMs ?? 300_000);
  if (target.use_replication_slots && o.master !== undefined) await dropSlotOnFormerMaster(ctx);
  await raiseAlert(
    target,
    {
      level: 'OK',
      event: 'follow_done',
      role: 'standby',
      message: `this standby follows the new master ${m.where} on timeline ${m.timeline} (${via === 'streaming' ? 'streaming' : 'restoring from archivedir'})`,
    },
    log,
  );
  return { timeline: m.timeline, via, master: m.where };
}

/**
 * Writes everything a standby of the new master needs (pg_conf, pitrtools.conf with
 * primary_conninfo for `ctx.config`'s master, standby.signal), checked with postgres -C: the
 * -S code. The one place --follow writes the standby's settings for the new master.
 */
export async function writeFollowSettings(
  ctx: Ctx,
  iniPath: string,
  bins: Awaited<ReturnType<typeof localBinaries>>,
  o: { ensureSlot: boolean } = { ensureSlot: true },
): Promise<void> {
  // use_replication_slots: the slot is made on the master ctx names (the new one), as -S does; when
  // the settings for the old master are only written back, its name is used as it was.
  const slot = o.ensureSlot ? (await ensureStandbySlot(ctx))?.name : ctx.config.use_replication_slots ? standbySlotName(ctx.config) : undefined;
  await prepareStandby(ctx, iniPath, bins, '--follow', slot);
}

/** The FATAL lines PostgreSQL starts with when pg_control is past the requested timeline's fork, as one reason; else undefined. */
export function forkRefusal(message: string): string | undefined {
  const min = /requested timeline (\d+) does not contain minimum recovery point ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/.exec(message);
  if (min)
    return `this standby has replayed timeline ${min[3]} up to ${min[2]} (its minimum recovery point), which timeline ${min[1]} of the new master does not contain (PostgreSQL refused to start: "${min[0]}")`;
  const child = /requested timeline (\d+) is not a child of this server's history/.exec(message);
  if (child)
    return `this standby's last checkpoint is past where timeline ${child[1]} of the new master forked off (PostgreSQL refused to start: "${child[0]}")`;
  return undefined;
}

function withNewMaster(config: StandbyConfig, m: NewMaster | undefined): StandbyConfig {
  if (m === undefined) return config;
  return {
    ...config,
    master_public_ip: m.host,
    ...(m.sshPort !== undefined ? { ssh_port: m.sshPort } : {}),
    ...(m.port !== undefined ? { port: m.port } : {}),
  };
}

async function askNewMaster(ctx: Ctx): Promise<MasterTimeline> {
  const { config, log } = ctx;
  return withMasterLink(config, log, { applicationName: 'pitrtools follow' }, async (l) => {
    if (await l.pg.scalar<boolean>('SELECT pg_is_in_recovery()')) {
      throw new PitrError('NEW_MASTER_IN_RECOVERY', `the new master (${l.where}) is still in recovery: it has not been promoted`, {
        hint: 'run cmd_standby -F999 on it first, or name the right master with --master HOST[:SSH_PORT] --master-port PORT',
      });
    }
    const timeline = parseInt(String(await l.pg.scalar('SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')), 16);
    if (timeline === 1) return { timeline, history: [], where: l.where.replace(/^master /, '') };
    const name = `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
    let text = await fsp
      .readFile(join(config.archivedir, name), 'utf8')
      .catch((err: unknown) => (errorCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
    if (text === undefined) {
      log.debug(`${name} is not in ${config.archivedir}: reading it from the new master's pg_wal`);
      try {
        text = String(await l.pg.scalar('SELECT pg_read_file($1)', [`pg_wal/${name}`]));
      } catch (err) {
        throw new PitrError(
          'NO_TIMELINE_HISTORY',
          `cannot read ${name} of the new master: it is not in ${config.archivedir} and ${l.where} refused it (${errorMessage(err)})`,
          {
            hint: `copy ${name} from the new master's pg_wal into ${config.archivedir}, or grant pg_read_server_files to master_db_user there`,
          },
        );
      }
    }
    let history: HistoryEntry[];
    try {
      history = parseHistory(text);
    } catch (err) {
      throw new PitrError('NO_TIMELINE_HISTORY', `${name} of the new master cannot be read: ${errorMessage(err)}`);
    }
    return { timeline, history, where: l.where.replace(/^master /, '') };
  });
}

async function checkFork(ctx: Ctx, m: MasterTimeline, iniPath: string): Promise<void> {
  const { config } = ctx;
  const s = await connectLocal(config);
  let replay: string;
  let ckptTli: number;
  let segSize: number;
  try {
    if (!(await s.scalar<boolean>('SELECT pg_is_in_recovery()'))) {
      throw new PitrError(
        'REJOIN_NEEDED',
        'a rejoin is needed: the local server is not in recovery (it is a master itself), so it cannot follow another master',
        {
          hint: REJOIN_HINT(iniPath),
        },
      );
    }
    const row = (
      await s.query<{ replay: string | null; tli: number; seg: string }>(
        "SELECT pg_last_wal_replay_lsn()::text AS replay, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli, (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS seg",
      )
    )[0]!;
    replay = row.replay ?? '0/0';
    ckptTli = Number(row.tli);
    segSize = Number(row.seg);
  } finally {
    await s.end();
  }
  // The segment holding the last replayed byte (replay is the end of the last record).
  const last = lsnText(lsnValue(replay) > 0n ? lsnValue(replay) - 1n : 0n);
  const chain = [...new Set([...m.history.map((e) => e.tli), m.timeline])];
  const present: number[] = [];
  for (const t of chain) {
    if (
      await fsp.access(join(config.pgdata, 'pg_wal', walNameForLsn(last, t, segSize))).then(
        () => true,
        () => false,
      )
    )
      present.push(t);
  }
  const v = forkVerdict({ replayLsn: replay, timelinesWithSegment: present, checkpointTli: ckptTli }, m.timeline, m.history);
  ctx.log.info(`this standby replayed up to ${replay} on timeline ${v.tli}`);
  if (!v.follow) {
    throw new PitrError('REJOIN_NEEDED', `a rejoin is needed: ${v.reason}; it cannot follow ${m.where} (timeline ${m.timeline})`, {
      hint: REJOIN_HINT(iniPath),
    });
  }
}

async function rewriteIni(config: StandbyConfig, m: NewMaster, log: Ctx['log']): Promise<void> {
  const values: Record<string, string> = { master_public_ip: m.host };
  if (m.sshPort !== undefined) values.ssh_port = String(m.sshPort);
  if (m.port !== undefined) values.port = String(m.port);
  const st = await fsp.stat(config.file);
  const text = await fsp.readFile(config.file, 'utf8');
  await writeFileAtomic(config.file, setIniKeys(text, values), st.mode & 0o777);
  log.info(
    `${config.file}: set ${Object.entries(values)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')} (the new master)`,
  );
}

async function waitFollowing(ctx: Ctx, timeline: number, via: 'streaming' | 'archive', waitMs: number): Promise<void> {
  const { config, log } = ctx;
  const deadline = Date.now() + waitMs;
  let lastSaid = Date.now();
  let state = 'not asked yet';
  const prefix = timeline.toString(16).toUpperCase().padStart(8, '0');
  for (;;) {
    try {
      const s = await connectLocal(config, 2000);
      try {
        if (via === 'streaming') {
          const r = (
            await s.query<{ status: string; host: string | null; port: number | null; tli: number | null }>(
              'SELECT status, sender_host AS host, sender_port AS port, received_tli AS tli FROM pg_stat_wal_receiver',
            )
          )[0];
          if (r && r.status === 'streaming' && r.host === config.master_public_ip && Number(r.port) === config.port) return;
          state = r ? `WAL receiver ${r.status} from ${r.host ?? '?'}:${r.port ?? '?'}` : 'no WAL receiver yet';
        } else {
          const files = await fsp.readdir(join(config.pgdata, 'pg_wal'));
          if (files.some((f) => f.length === 24 && f.startsWith(prefix))) return;
          state = `no segment of timeline ${timeline} restored yet`;
        }
      } finally {
        await s.end();
      }
    } catch (err) {
      state = errorMessage(err);
    }
    if (Date.now() > deadline) {
      throw new PitrError(
        'FOLLOW_TIMEOUT',
        `the standby does not ${via === 'streaming' ? `stream from ${config.master_public_ip}:${config.port}` : `restore timeline ${timeline} from ${config.archivedir}`} after ${Math.round(waitMs / 1000)} s (${state}); its settings point at the new master`,
        {
          hint: `see ${config.logfile ?? join(config.pgdata, 'pitrtools-server.log')}${via === 'archive' ? " and whether the new master's archiver ships to this host (archiver_config)" : ''}`,
        },
      );
    }
    if (Date.now() - lastSaid >= 10_000) {
      log.info(`waiting for the standby to follow: ${state}`);
      lastSaid = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * use_replication_slots: once this standby streams from the new master, its slot on the master it
 * followed before (an old master that came back as a standby may hold it: this standby streamed
 * from it meanwhile) is dropped, so no node keeps WAL for it. A former master that does not answer
 * within 5 s (the usual case after a failover) is left alone: its slots go with its --rejoin.
 */
async function dropSlotOnFormerMaster(ctx: Ctx): Promise<void> {
  const name = standbySlotName(ctx.config);
  try {
    const r = await withMasterLink(ctx.config, ctx.log, { applicationName: 'pitrtools follow', timeoutMs: 5000 }, (l) => dropSlotIfUnused(l.pg, name));
    if (r === 'dropped') ctx.log.notice(`dropped this standby's replication slot "${name}" on the master it followed before (${ctx.config.master_public_ip})`);
  } catch (err) {
    ctx.log.debug(`the former master ${ctx.config.master_public_ip} did not answer; its slot "${name}" (if any) goes with its --rejoin: ${errorMessage(err)}`);
  }
}

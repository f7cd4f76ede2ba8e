/**
 * --check: a Nagios plugin for the standby. Asks the local server where replay and the WAL
 * receiver are, and the master (through SSH, bounded by ssh_timeout) where its WAL is; every lag
 * is master minus standby. What it remembers between runs (check-state.ts) turns conditions into
 * durations: replay standing still while the master is a segment ahead, the WAL receiver down,
 * the master unreachable. The server log's newest replication error is read while the receiver
 * is down; a segment the master removed that this standby still needs is CRITICAL.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '@pitrtools/core/errors';
import { localServer } from '@pitrtools/core/pg/local-server';
import type { Ctx } from '../context.js';
import { archiveSize, readCheckState, readTail, restoredInfo, writeCheckState } from '../local/files.js';
import { connectLocal, serverLogPath } from '../local/server.js';
import { withMasterLink } from '../master-link.js';
import { evaluateCheck, lsnDiff, lsnValue, type CheckFacts, type CheckReport, type CheckThresholds } from '../recovery/check-report.js';
import { lastReplicationError, nextCheckState, parseCheckState } from '../recovery/check-state.js';
import { segmentStartLsn } from '../recovery/wal-file-check.js';
import { CHECK_STATE } from '../state-files.js';
import { receiverPid } from '../receiver/control.js';
import { standbySlotName } from '../replication/standby-slot.js';
import { listSlots, type SlotInfo } from '@pitrtools/core/pg/slots';
import type { ReplayPauseState } from './replay-pause.js';

/** Options of --check (thresholds default to the check_* keys). */
export interface CheckOptions extends Partial<Pick<CheckThresholds, 'warnBytes' | 'critBytes' | 'warnSeconds' | 'critSeconds' | 'allowPrimary'>> {
  /** Time limit for asking the master, ms; default ssh_timeout. */
  masterTimeoutMs?: number;
  /** The clock (ms), for tests. */
  now?: () => number;
}

/** What the local server says. */
interface LocalFacts {
  recv: string | null;
  replay: string | null;
  secs: number | null;
  pauseState: ReplayPauseState | null;
  segSize: number;
  receiver?: { status: string; flushed: string | null; age: number | null } | undefined;
}

/** Measures and judges; never throws (a failure to measure is a note, a state or UNKNOWN). */
export async function checkStandby(ctx: Ctx, o: CheckOptions = {}): Promise<CheckReport> {
  const { config } = ctx;
  const t: CheckThresholds = {
    warnBytes: o.warnBytes !== undefined ? o.warnBytes : config.check_lag_warn_bytes,
    critBytes: o.critBytes !== undefined ? o.critBytes : config.check_lag_critical_bytes,
    warnSeconds: o.warnSeconds ?? config.check_lag_warn_seconds,
    critSeconds: o.critSeconds ?? config.check_lag_critical_seconds,
    stuck: { warn: config.check_replay_stuck_warn_seconds, crit: config.check_replay_stuck_critical_seconds },
    receiver: { warn: config.check_receiver_warn_seconds, crit: config.check_receiver_critical_seconds },
    master: { warn: config.check_master_warn_seconds, crit: config.check_master_critical_seconds },
    restored: { warn: config.check_restore_warn_seconds ?? null, crit: config.check_restore_critical_seconds ?? null },
    allowPrimary: o.allowPrimary ?? false,
    slots: { warnBytes: config.check_slot_warn_bytes, critBytes: config.check_slot_critical_bytes },
  };
  const now = (o.now ?? Date.now)();
  const f: CheckFacts = { running: (await localServer(config.pgdata)).running, notes: [] };
  if (config.use_replication_slots) f.ownSlot = standbySlotName(config);
  const masterTimeoutMs = o.masterTimeoutMs ?? config.ssh_timeout * 1000;
  if (f.running) await measure(ctx, f, masterTimeoutMs, now);
  else if (config.use_replication_slots) {
    // Stopped, its slot keeps WAL on the master: how much is what matters now.
    const m = await askMaster(ctx, masterTimeoutMs);
    if ('lsn' in m) f.slots = m.slots;
    else f.notes.push(`cannot ask the master for its replication slots: ${m.error}`);
  }
  await measureFiles(ctx, f);
  return evaluateCheck(f, t);
}

async function measure(ctx: Ctx, f: CheckFacts, masterTimeoutMs: number, now: number): Promise<void> {
  const { config } = ctx;
  let local: LocalFacts;
  try {
    local = await askLocal(ctx);
  } catch (err) {
    f.notes.push(`cannot query the local server: ${errorMessage(err)}`);
    return;
  }
  if (!f.inRecovery) return;
  f.replayLsn = local.replay ?? undefined;
  f.replayPaused = local.pauseState !== null && local.pauseState !== 'not paused';
  if (local.pauseState !== null) f.replayPauseState = local.pauseState;
  const streaming = config.use_streaming_replication;
  if (streaming) {
    f.receiver = {
      status: local.receiver?.status ?? 'stopped',
      ...(local.receiver?.age != null ? { lastMessageAgeSeconds: Math.max(0, local.receiver.age) } : {}),
    };
    f.receiveLsn = local.receiver?.flushed ?? local.recv ?? undefined;
  }
  const master = await askMaster(ctx, masterTimeoutMs);
  const prev = parseCheckState(await readCheckState(config.pgdata));
  const state = nextCheckState(prev, {
    now,
    replayLsn: f.replayLsn,
    masterReachable: 'lsn' in master,
    receiverStreaming: streaming ? f.receiver!.status === 'streaming' : undefined,
  });
  await writeCheckState(config.pgdata, `${JSON.stringify(state)}\n`).catch((err: unknown) =>
    f.notes.push(
      `cannot keep state in ${join(config.pgdata, CHECK_STATE)} (${errorMessage(err)}): run --check as the database owner to measure how long replay stands still`,
    ),
  );
  const secondsSince = (t: number | undefined): number => (t === undefined ? 0 : Math.max(0, (now - t) / 1000));
  if (f.receiver && f.receiver.status !== 'streaming') f.receiver.downSeconds = secondsSince(state.receiverDownSince);
  if ('lsn' in master) {
    f.masterLsn = master.lsn;
    f.slots = master.slots;
    f.lagSource = 'master';
    if (f.replayLsn !== undefined) f.lagBytes = Math.max(0, lsnDiff(master.lsn, f.replayLsn));
    if (f.receiveLsn !== undefined) f.receiveLagBytes = Math.max(0, lsnDiff(master.lsn, f.receiveLsn));
    // A transaction time says how old the missing data is only while some is missing.
    if (f.lagBytes !== undefined) f.lagSeconds = f.lagBytes === 0 ? 0 : local.secs === null ? undefined : Math.max(0, local.secs);
    const segAhead = f.lagBytes !== undefined && f.lagBytes > master.segSize;
    f.replayStuckSeconds = segAhead ? secondsSince(state.replaySince) : 0;
  } else {
    f.masterUnreachable = { reason: master.error, seconds: secondsSince(state.masterUnreachableSince) };
  }
  if (f.receiver && f.receiver.status !== 'streaming') {
    const err = lastReplicationError((await readTail(serverLogPath(config))) ?? '');
    if (err) {
      f.replicationError = err.line;
      // Still needed (replay has not passed it) and not in the archive either: nothing will bring it.
      const seg = err.removedSegment;
      if (
        seg !== undefined &&
        f.replayLsn !== undefined &&
        lsnValue(f.replayLsn) < segmentStartLsn(seg, local.segSize) + BigInt(local.segSize) &&
        !existsSync(join(config.archivedir, seg))
      )
        f.removedSegment = seg;
    }
  }

  async function askLocal(c: Ctx): Promise<LocalFacts> {
    const s = await connectLocal(c.config);
    try {
      const row = (
        await s.query<{ r: boolean; recv: string | null; replay: string | null; secs: number | null; pause: ReplayPauseState | null; seg: string }>(
          `SELECT pg_is_in_recovery() AS r, pg_last_wal_receive_lsn()::text AS recv, pg_last_wal_replay_lsn()::text AS replay,
                extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS secs,
                CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS pause,
                current_setting('wal_segment_size') AS seg`,
        )
      )[0]!;
      f.inRecovery = row.r;
      const rec = (
        await s.query<{ status: string; flushed: string | null; age: number | null }>(
          `SELECT status, flushed_lsn::text AS flushed, extract(epoch FROM now() - last_msg_receipt_time)::float8 AS age
           FROM pg_stat_wal_receiver`,
        )
      )[0];
      return { recv: row.recv, replay: row.replay, secs: row.secs, pauseState: row.pause, segSize: sizeSetting(row.seg), receiver: rec };
    } finally {
      await s.end();
    }
  }
}

/** `16MB` (SHOW's form of wal_segment_size) in bytes. */
function sizeSetting(v: string): number {
  const m = /^(\d+)\s*(B|kB|MB|GB)?$/.exec(v.trim());
  if (!m) return 16 * 1024 * 1024;
  return Number(m[1]) * ({ B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] ?? 'B'] ?? 1);
}

/** The master's WAL position, segment size and replication slots, or why they could not be had within `timeoutMs`. */
async function askMaster(ctx: Ctx, timeoutMs: number): Promise<{ lsn: string; segSize: number; slots: SlotInfo[] } | { error: string }> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: `no answer within ${Math.round(timeoutMs / 1000)} s` }), timeoutMs + 1000);
  });
  const asked = (ctx.master ?? withMasterLink)(ctx.config, ctx.log, { applicationName: 'pitrtools check', timeoutMs }, async (l) => {
    // A source that is itself a standby (-B from a standby, cascading) has no pg_current_wal_lsn(): its replay position is where its WAL is.
    const rows = await l.pg.query<{ lsn: string; seg: string }>(
      "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn, current_setting('wal_segment_size') AS seg",
    );
    return { lsn: rows[0]!.lsn, segSize: sizeSetting(rows[0]!.seg), slots: await listSlots(l.pg) };
  }).catch((err: unknown) => ({ error: errorMessage(err) }));
  try {
    return await Promise.race([asked, expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function measureFiles(ctx: Ctx, f: CheckFacts): Promise<void> {
  if (ctx.config.wal_receiver) f.walReceiverRunning = (await receiverPid(ctx)) !== undefined;
  const restored = await restoredInfo(ctx.config.pgdata);
  if (restored) {
    f.restoredAge = restored.ageSec;
    f.restoredSegment = restored.segment;
  }
  try {
    f.archivedirBytes = await archiveSize(ctx.config.archivedir);
  } catch (err) {
    f.notes.push(`archivedir: ${errorMessage(err)}`);
  }
}

/**
 * -S: start this copy as a standby. Puts pg_conf / pg_hba_conf in place, writes our settings file
 * (restore_command = our --restore, archive_cleanup_command = our --cleanup, primary_conninfo with a
 * passfile when streaming), standby.signal, starts the server with pg_ctl and waits until it
 * accepts connections in recovery. With use_replication_slots it first makes sure of its slot on the
 * master and streams through it (primary_slot_name).
 */
import type { Ctx } from '../context.js';
import { startReceiver } from '../receiver/control.js';
import { ensureStandbySlot } from '../replication/standby-slot.js';
import { requireCompleteCopy } from '../local/copy-state.js';
import { localBinaries, refuseIfRunning, startServer, waitForServer } from '../local/server.js';
import type { PgBinaries } from '@pitrtools/core/pg/binaries';
import { makeOurSettingsWin } from '../local/effective-settings.js';
import { STANDBY_NO_TARGET } from '../recovery/inherited-settings.js';
import { settingsFor, type SettingsMode } from '../recovery/render.js';
import { installConfFiles, selfInvocation, selfSourceTree, setSignal, streamingSettings, writeSettings } from '../recovery/settings-files.js';

/** Options of -S. */
export interface StandbyOptions {
  /** The ini file as given with -C (restore_command names it by absolute path). */
  iniPath: string;
  /** How long to wait for the server to accept connections; default 10 min. */
  waitMs?: number;
}

/**
 * Writes the standby settings (no start) and makes them the ones the server will use: inherited
 * postgresql.auto.conf lines commented out, then checked with postgres -C (INHERITED_SETTING, exit 2).
 * -S and a stopped -F999 use it; `command` names the caller in the comment and the errors.
 */
export async function prepareStandby(ctx: Ctx, iniPath: string, bins: PgBinaries, command: string, slot?: string): Promise<void> {
  const { config } = ctx;
  await installConfFiles(config, 'standby');
  const conn = await streamingSettings(config);
  // primary_slot_name only where the caller made sure of the slot (-S); -F999 never reaches the dead master.
  const streaming = conn && slot !== undefined ? { ...conn, slotName: slot } : conn;
  const mode: SettingsMode = { kind: 'standby', self: selfInvocation(iniPath), streaming };
  const tree = selfSourceTree();
  if (tree !== undefined) {
    ctx.log.warning(
      `restore_command runs ${mode.self.script}, inside the source checkout ${tree}: removing or moving it stops recovery; ` +
        'install a copy instead (npm run tarball, then npm install -g of the tarball: README, Quick start)',
    );
  }
  await writeSettings(config.pgdata, mode);
  await setSignal(config.pgdata, 'standby');
  await makeOurSettingsWin(config.pgdata, bins, command, { ours: settingsFor(mode), empty: STANDBY_NO_TARGET }, ctx.log);
  ctx.log.debug(
    `wrote standby settings (${streaming ? `streaming from ${streaming.host}:${streaming.port}${streaming.slotName !== undefined ? ` through slot ${streaming.slotName}` : ''}` : 'archive replay only'})`,
  );
}

/** What -S did. */
export interface StandbyResult {
  pgdata: string;
  /** The replication slot on the master it streams through, if use_replication_slots. */
  slot?: string;
}

/** Runs -S. */
export async function startStandby(ctx: Ctx, o: StandbyOptions): Promise<StandbyResult> {
  const { config, log } = ctx;
  await refuseIfRunning(config.pgdata, 'start the standby (-S)');
  await requireCompleteCopy(config.pgdata, 'start the standby (-S)');
  const bins = await localBinaries(config);
  const slot = await ensureStandbySlot(ctx);
  await prepareStandby(ctx, o.iniPath, bins, '-S', slot?.name);
  const offset = await startServer(config, bins, log);
  await waitForServer(config, 'standby', offset, o.waitMs ?? 600_000, log);
  await startReceiver(ctx, o.iniPath);
  return { pgdata: config.pgdata, ...(slot ? { slot: slot.name } : {}) };
}

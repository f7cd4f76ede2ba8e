/**
 * -S: start this copy as a standby. Puts pg_conf / pg_hba_conf in place, writes our settings file
 * (restore_command = our --restore, archive_cleanup_command = our --cleanup, primary_conninfo with a
 * passfile when streaming), standby.signal, starts the server with pg_ctl and waits until it
 * accepts connections in recovery.
 */
import type { Ctx } from '../context.js';
import { startReceiver } from '../receiver/control.js';
import { requireCompleteCopy } from '../local/copy-state.js';
import { localBinaries, refuseIfRunning, startServer, waitForServer } from '../local/server.js';
import { autoConfOverrides, installConfFiles, selfInvocation, setSignal, streamingSettings, writeSettings } from '../recovery/settings-files.js';

/** Options of -S. */
export interface StandbyOptions {
  /** The ini file as given with -C (restore_command names it by absolute path). */
  iniPath: string;
  /** How long to wait for the server to accept connections; default 10 min. */
  waitMs?: number;
}

/** Writes the standby settings (no start); -S and a stopped -F999 use it. */
export async function prepareStandby(ctx: Ctx, iniPath: string): Promise<void> {
  const { config } = ctx;
  await installConfFiles(config, 'standby');
  const streaming = await streamingSettings(config);
  await writeSettings(config.pgdata, { kind: 'standby', self: selfInvocation(iniPath), streaming });
  await setSignal(config.pgdata, 'standby');
  for (const key of await autoConfOverrides(config.pgdata)) {
    ctx.log.warning(`postgresql.auto.conf sets ${key} (ALTER SYSTEM): it overrides the value cmd_standby writes; ALTER SYSTEM RESET ${key} on the master, or remove it from ${config.pgdata}/postgresql.auto.conf`);
  }
  ctx.log.debug(`wrote standby settings (${streaming ? `streaming from ${streaming.host}:${streaming.port}` : 'archive replay only'})`);
}

/** Runs -S. */
export async function startStandby(ctx: Ctx, o: StandbyOptions): Promise<void> {
  const { config, log } = ctx;
  await refuseIfRunning(config.pgdata, 'start the standby (-S)');
  await requireCompleteCopy(config.pgdata, 'start the standby (-S)');
  const bins = await localBinaries(config);
  await prepareStandby(ctx, o.iniPath);
  const offset = await startServer(config, bins, log);
  await waitForServer(config, 'standby', offset, o.waitMs ?? 600_000, log);
  await startReceiver(ctx, o.iniPath);
  ctx.out('Successfully entered standby mode');
}

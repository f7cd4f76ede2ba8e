/**
 * -B: the base backup. ONE database session on the master holds the backup from
 * cmd_backup_start (fast checkpoint) to cmd_backup_stop; everything is copied over SSH in between.
 * Until the copy is complete and fsynced, the data directory holds an "incomplete" marker and no
 * global/pg_control or backup_label, so an interrupted copy can never be started or mistaken
 * for a finished one. backup_label and tablespace_map are written last, byte for byte.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitCode, PitrError, errorCode, errorMessage } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';
import { requireHelpers } from '@pitrtools/core/pg/helpers';
import { raiseAlert } from '@pitrtools/core/alerts';
import { contentComparer } from '../basebackup/checksum.js';
import { copyFiles, type CopyResult } from '../basebackup/copy.js';
import { dataDirRule, tablespaceRule } from '../basebackup/exclusions.js';
import { ensureDir, ensureSymlink, fsyncTree, removePath, writeSynced } from '../basebackup/local-tree.js';
import { emptyPlan, planTree, type FileJob } from '../basebackup/plan.js';
import { Progress, formatDuration, humanBytes } from '../basebackup/progress.js';
import { isExternal, localLocation, parseMappings, rewriteTablespaceMap, type Tablespace } from '../basebackup/tablespaces.js';
import type { Ctx } from '../context.js';
import { refuseIfRunning } from '../local/server.js';
import { openMasterLink, type MasterLink } from '../master-link.js';
import { INCOMPLETE_MARKER } from '../state-files.js';

/** Options of -B. */
export interface BasebackupOptions {
  /** --checksum: compare content instead of size and mtime. */
  checksum?: boolean;
  /** Called after each file (tests use it to cut the connection half way). */
  onFile?: (job: FileJob) => void | Promise<void>;
}

/** What -B did. */
export interface BasebackupResult extends CopyResult {
  skipped: number;
  skippedBytes: number;
  removed: number;
  elapsedMs: number;
  startLsn: string;
  stopLsn: string;
}

/** Runs -B; throws BASEBACKUP_FAILED (exit 1) with the copy left marked incomplete. */
export async function basebackup(ctx: Ctx, o: BasebackupOptions = {}): Promise<BasebackupResult> {
  const { config, log } = ctx;
  await refuseIfRunning(config.pgdata, 'take a base backup (-B)');
  const state = { invalidated: false };
  let link: MasterLink | undefined;
  try {
    link = await openMasterLink(config, log, { applicationName: 'pitrtools basebackup' });
    return await backupOver(ctx, link, o, state);
  } catch (err) {
    const reason = errorCode(err) === 'ENOSPC' ? `the disk is full: ${errorMessage(err)}` : errorMessage(err);
    const message = `base backup failed: ${reason}`;
    await raiseAlert(config, { level: 'CRITICAL', event: 'basebackup_failed', message, role: 'standby' }, log);
    throw new PitrError('BASEBACKUP_FAILED', message, {
      exitCode: ExitCode.FAILED, cause: err,
      hint: state.invalidated
        ? `the copy in ${config.pgdata} is incomplete (${INCOMPLETE_MARKER}) and will not start; run -B again`
        : `nothing was changed in ${config.pgdata}`,
    });
  } finally {
    await link?.close();
  }
}

async function backupOver(ctx: Ctx, link: MasterLink, o: BasebackupOptions, state: { invalidated: boolean }): Promise<BasebackupResult> {
  const { config, log } = ctx;
  const { pg } = link;
  await requireHelpers(pg, link.where);
  const info = (await pg.query<{ archive_mode: string; data_directory: string }>('SELECT archive_mode, data_directory FROM cmd_server_info()'))[0]!;
  const tablespaces = (await pg.query<Tablespace>('SELECT oid::text AS oid, spcname AS name, location FROM cmd_get_tablespaces()'));
  const mappings = parseMappings(config.tablespace_mapping ?? []);
  for (const ts of tablespaces.filter(isExternal)) {
    const dest = localLocation(ts.location, mappings);
    if (dest.startsWith(`${config.pgdata}/`) || dest === config.pgdata) {
      throw new PitrError('BAD_TABLESPACE_MAPPING', `tablespace ${ts.name} would go to ${dest}, inside the data directory; map it elsewhere (tablespace_mapping)`);
    }
  }
  const label = `pitrtools cmd_standby -B ${hostname()} ${new Date().toISOString()}`;
  const startLsn = String(await pg.scalar('SELECT cmd_backup_start($1, true)', [label]));
  // Files the master changed in this second or later may change again unseen within the same
  // second; SFTP mtimes have whole seconds, so such files must never be skipped by a later -B.
  const hotSince = Math.floor(Number(await pg.scalar<number>('SELECT extract(epoch FROM clock_timestamp())')) ) - 1;
  log.info(`backup started on the master at ${startLsn}; copying ${info.data_directory} to ${config.pgdata}`);

  if (info.archive_mode === 'off' && !config.use_streaming_replication) {
    log.warning('archive_mode is off on the master: the WAL this copy needs to become consistent will not reach archivedir');
  }
  // From here on the local copy is invalid until the end.
  state.invalidated = true;
  await ensureDir(config.pgdata);
  await writeSynced(join(config.pgdata, INCOMPLETE_MARKER), `${label}\n`);
  for (const f of ['global/pg_control', 'backup_label', 'tablespace_map']) await removePath(join(config.pgdata, f));
  await fsyncDir(config.pgdata);

  const lost = link.pg.lost.then((e) => { throw new PitrError('MASTER_SESSION_LOST', `lost the backup's database session on the master: ${errorMessage(e)}`); });
  lost.catch(() => undefined);
  const sftp = await link.ssh.sftp();
  const plan = emptyPlan();
  const debug = log.debugEnabled ? (m: string) => log.debug(m) : undefined;
  const external = tablespaces.filter(isExternal);
  await planTree(sftp, {
    remoteRoot: info.data_directory, localRoot: config.pgdata, rule: dataDirRule,
    isTablespaceLink: (rel) => /^pg_tblspc\/\d+$/.test(rel) && external.some((t) => rel === `pg_tblspc/${t.oid}`),
  }, plan, !o.checksum, debug);
  for (const ts of external) {
    const dest = localLocation(ts.location, mappings);
    log.debug(`tablespace ${ts.name} (${ts.oid}): ${ts.location} -> ${dest}`);
    await planTree(sftp, { remoteRoot: ts.location, localRoot: dest, rule: tablespaceRule }, plan, !o.checksum, debug);
    await ensureSymlink(join(config.pgdata, 'pg_tblspc', ts.oid), dest);
  }
  const total = plan.copy.reduce((n, j) => n + j.size, 0);
  log.info(`${plan.copy.length} files (${humanBytes(total)}) to copy, ${plan.skipped} unchanged, ${plan.removed} local files removed`);
  const progress = new Progress(ctx.progress, total);
  const copyOpts = {
    workers: config.rsync_threads, openChannel: () => link.ssh.openSftp(), hotSince, abort: lost as Promise<never>,
    onBytes: (n: number) => progress.add(n),
    onFile: async (job: FileJob, outcome: string) => { debug?.(`${outcome}: ${job.rel}`); await o.onFile?.(job); },
    ...(o.checksum ? { sameContent: contentComparer(pg) } : {}),
  };
  let copied: CopyResult;
  try {
    copied = await copyFiles(plan.copy, copyOpts);
    // pg_control last: a copy with it but without everything else must never exist.
    const ctl = await copyFiles(plan.last, { ...copyOpts, workers: 1, sameContent: undefined });
    copied = { ...copied, copied: copied.copied + ctl.copied, bytes: copied.bytes + ctl.bytes };
  } finally {
    progress.end();
  }

  log.info(`copy done in ${formatDuration(progress.elapsedMs())}; ending the backup on the master`);
  const stop = await Promise.race([stopBackup(link, info.archive_mode), lost]);
  await finishCopy(ctx, stop, tablespaces, mappings);
  const elapsedMs = progress.elapsedMs();
  const result: BasebackupResult = { ...copied, skipped: plan.skipped + copied.same, skippedBytes: plan.skippedBytes, removed: plan.removed, elapsedMs, startLsn, stopLsn: stop.lsn };
  const rate = elapsedMs > 0 ? humanBytes(Math.round((copied.bytes / elapsedMs) * 1000)) : '-';
  ctx.out(`Base backup finished: transferred ${copied.copied} files / ${humanBytes(copied.bytes)} in ${formatDuration(elapsedMs)} (${rate}/s), `
    + `skipped ${result.skipped} unchanged, removed ${plan.removed}; WAL from ${startLsn} to ${stop.lsn}`);
  return result;
}

type StopResult = { lsn: string; labelfile: string; spcmapfile: string };

async function stopBackup(link: MasterLink, archiveMode: string): Promise<StopResult> {
  // With archiving on, wait until the WAL the copy needs is archived (i.e. shipped to us).
  const wait = archiveMode !== 'off';
  const rows = await link.pg.query<StopResult>('SELECT lsn::text AS lsn, labelfile, spcmapfile FROM cmd_backup_stop($1)', [wait]);
  return rows[0]!;
}

/** backup_label and tablespace_map last, then fsync everything, then the marker goes. */
async function finishCopy(ctx: Ctx, stop: StopResult, tablespaces: Tablespace[], mappings: ReturnType<typeof parseMappings>): Promise<void> {
  const { pgdata } = ctx.config;
  await writeSynced(join(pgdata, 'backup_label'), Buffer.from(stop.labelfile, 'utf8'));
  if (stop.spcmapfile !== '') await writeSynced(join(pgdata, 'tablespace_map'), Buffer.from(rewriteTablespaceMap(stop.spcmapfile, mappings), 'utf8'));
  const t0 = Date.now();
  let files = await fsyncTree(pgdata);
  for (const ts of tablespaces.filter(isExternal)) files += await fsyncTree(localLocation(ts.location, mappings));
  ctx.log.debug(`fsynced ${files} files and their directories in ${formatDuration(Date.now() - t0)}`);
  await removePath(join(pgdata, INCOMPLETE_MARKER));
  await fsyncDir(pgdata);
}

/**
 * -B: the base backup. ONE database session on the master holds the backup from
 * cmd_backup_start (fast checkpoint) to cmd_backup_stop; everything is copied over SSH in between.
 * Until the copy is complete and fsynced, the data directory holds an "incomplete" marker and no
 * global/pg_control or backup_label, so an interrupted copy can never be started or mistaken
 * for a finished one. backup_label and tablespace_map are written last, byte for byte.
 */
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { PitrError, errorCode, errorMessage } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';
import { queryWithHelpers } from '@pitrtools/core/pg/helpers';
import { raiseAlert } from '@pitrtools/core/alerts';
import { existsSync } from 'node:fs';
import { contentComparer } from '../basebackup/checksum.js';
import { chooseCompress, senderPlan } from '../basebackup/compress-choice.js';
import { CopyEngine, type CopyResult } from '../basebackup/copy.js';
import { dataDirRule, tablespaceRule } from '../basebackup/exclusions.js';
import { JobQueue, type JobFeed } from '../basebackup/job-queue.js';
import { ensureDir, ensureSymlink, fsyncTree, removePath, writeSynced } from '../basebackup/local-tree.js';
import { emptyPlan, planTree, type FileJob, type WalkChannel } from '../basebackup/plan.js';
import { SenderWalk } from '../basebackup/sender-walk.js';
import { humanBytes } from '@pitrtools/core/bytes';
import { Progress, formatDuration } from '../basebackup/progress.js';
import { awaitStandbySourceWal, labelStartTimeline, sourceStopTimeline } from '../basebackup/standby-source.js';
import { isExternal, localLocation, parseMappings, rewriteTablespaceMap, type Tablespace } from '../basebackup/tablespaces.js';
import type { Ctx } from '../context.js';
import { backupRecordText, type BackupRecord } from '../local/copy-state.js';
import { refuseIfRunning } from '../local/server.js';
import { masterSshTarget, openMasterLink, type MasterLink } from '../master-link.js';
import { BACKUP_STATE, INCOMPLETE_MARKER } from '../state-files.js';
import { interruptRequested } from '../basebackup-interrupt.js';

/** Options of -B. */
export interface BasebackupOptions {
  /** --checksum: compare content instead of size and mtime. */
  checksum?: boolean;
  /** Called after each file (tests use it to cut the connection half way). */
  onFile?: (job: FileJob) => void | Promise<void>;
  /** Where the copy goes instead of pgdata (a backup set of the catalogue: --backup); the local server may run then. */
  into?: CopyDest;
}

/** A destination other than pgdata: a directory of its own, tablespaces inside it as pg_tblspc/<oid>/ (unmapped). */
export interface CopyDest {
  dataDir: string;
}

/** What the source server said about itself when the backup started (cmd_server_info). */
export interface SourceInfo {
  versionNum: number;
  inRecovery: boolean;
  systemIdentifier: string;
  walSegmentSize: number;
}

/** What -B did. */
export interface BasebackupResult extends CopyResult {
  skipped: number;
  skippedBytes: number;
  /** Local files removed because the master does not have them. */
  removed: number;
  /** Temp files an interrupted -B left, removed (not in `removed`). */
  staleTemps: number;
  elapsedMs: number;
  startLsn: string;
  stopLsn: string;
  /** The source's clock just after the start and just after the stop (ISO 8601, UTC). */
  startedAt: string;
  stoppedAt: string;
  /** backup_label and tablespace_map as pg_backup_stop returned them. */
  labelfile: string;
  spcmapfile: string;
  source: SourceInfo;
  /** The `compress` setting the copy ran with (none, lz4, zstd, zstd:N). */
  compress: string;
}

/** Runs -B; throws BASEBACKUP_FAILED (exit 1) with the copy left marked incomplete. */
export async function basebackup(ctx: Ctx, o: BasebackupOptions = {}): Promise<BasebackupResult> {
  const { config, log } = ctx;
  const dataDir = o.into?.dataDir ?? config.pgdata;
  if (!o.into) await refuseIfRunning(config.pgdata, 'take a base backup (-B)');
  const state = { invalidated: false };
  let link: MasterLink | undefined;
  let engine: EngineStart | undefined;
  const target = masterSshTarget(config, log);
  const compress = chooseCompress(config);
  // A data directory already there (PG_VERSION): a re-sync, whose changed files the sender compares block by block.
  const sender = senderPlan(config.master_cmd_standby, compress, existsSync(join(dataDir, 'PG_VERSION')));
  const onNoSender = (why: string): void =>
    log.warning(
      `no block sender on the master (${sender?.argv.join(' ')}: ${why}); -B copies whole files over SFTP${compress !== 'none' ? ', uncompressed' : ''}: ` +
        `set master_cmd_standby in ${config.file} to cmd_standby's path on the master host`,
    );
  const startEngine = (): EngineStart => {
    const started: EngineStart = {
      ready: CopyEngine.start({
        target,
        streams: config.rsync_threads,
        workers: copyWorkers(config.rsync_threads),
        ...(sender ? { sender, onNoSender } : {}),
      }),
      failure: undefined,
      compress,
    };
    started.ready.catch((e: unknown) => {
      started.failure = e;
    }); // a failure of the link is reported first
    return started;
  };
  try {
    // The copy workers connect while the link comes up and the master starts the backup; with
    // accept-new only once the link has recorded an unknown host key (one key, recorded once).
    if (target.hostKeyCheck !== 'accept-new') engine = startEngine();
    link = await openMasterLink(config, log, { applicationName: 'pitrtools basebackup' });
    engine ??= startEngine();
    return await backupOver(ctx, link, engine, o, state, sender?.argv);
  } catch (err) {
    // Stopped by a signal: its own report and exit (130/143) follow; no alert for a stop asked for.
    if (interruptRequested()) throw err;
    const reason = errorCode(err) === 'ENOSPC' ? `the disk is full: ${errorMessage(err)}` : errorMessage(err);
    const message = `base backup failed: ${reason}`;
    await raiseAlert(config, { level: 'CRITICAL', event: 'basebackup_failed', message, role: 'standby' }, log);
    const where = state.invalidated
      ? `the copy in ${dataDir} is incomplete (${INCOMPLETE_MARKER}) and will not start; run -B again`
      : `nothing was changed in ${dataDir}`;
    const cause = err instanceof PitrError && err.hint !== undefined ? `${err.hint}; ` : '';
    throw new PitrError('BASEBACKUP_FAILED', message, { cause: err, hint: `${cause}${where}` });
  } finally {
    await engine?.ready.then(
      (e) => e.abort(),
      () => undefined,
    );
    await link?.close();
  }
}

/** A block sender for the walk (`senderArgv`), or the session's SFTP channel when there is none or it does not start. */
async function openWalkChannel(link: MasterLink, senderArgv: string[] | undefined, log: Ctx['log']): Promise<WalkChannel> {
  if (senderArgv) {
    try {
      const walk = await SenderWalk.start(link.ssh, senderArgv);
      log.debug('the walk lists through the block sender on the master');
      return walk;
    } catch (err) {
      // The copy's own senders fail the same way and say so once (onNoSender).
      log.debug(`the walk lists over SFTP: no block sender (${errorMessage(err)})`);
    }
  }
  return link.ssh.sftp();
}

/** The copy engine coming up; `failure` is set as soon as it failed. */
interface EngineStart {
  ready: Promise<CopyEngine>;
  failure: unknown;
  /** The `compress` value in use on the wire. */
  compress: string;
}

/**
 * Worker threads for `streams` SFTP streams: one per spare core (ssh2 does a connection's packet
 * work on the thread that owns it), at most one per stream; CopyEngine adds connections where
 * the streams need more channels than sshd allows on one (streamsPerConnection).
 */
function copyWorkers(streams: number): number {
  return Math.max(1, Math.min(streams, availableParallelism() - 1));
}

async function backupOver(
  ctx: Ctx,
  link: MasterLink,
  engineStart: EngineStart,
  o: BasebackupOptions,
  state: { invalidated: boolean },
  senderArgv: string[] | undefined,
): Promise<BasebackupResult> {
  const { config, log } = ctx;
  const { pg } = link;
  const inside = o.into !== undefined;
  const dataDir = o.into?.dataDir ?? config.pgdata;
  // The walk's channel comes up while the master starts the backup: a block sender of its own
  // when -B starts them (a listing per directory in one answer, sender-walk.ts), else SFTP.
  const walkChannel = openWalkChannel(link, senderArgv, log);
  walkChannel.catch(() => undefined);
  // One round trip: the helpers' check, the server and its tablespaces.
  const {
    tablespaces,
    helpers_version: _,
    ...info
  } = (
    await queryWithHelpers(pg, link.where, () =>
      pg.query<ServerInfo & { tablespaces: Tablespace[]; helpers_version: number }>(
        'SELECT cmd_helpers_version() AS helpers_version, archive_mode, data_directory, version_num, in_recovery, system_identifier, ' +
          'wal_segment_size::text AS wal_segment_size, ' +
          "(SELECT coalesce(json_agg(json_build_object('oid', oid::text, 'name', spcname, 'location', location)), '[]') FROM cmd_get_tablespaces()) AS tablespaces " +
          'FROM cmd_server_info()',
      ),
    )
  )[0]!;
  const source: SourceInfo = {
    versionNum: Number(info.version_num),
    inRecovery: info.in_recovery,
    systemIdentifier: info.system_identifier,
    walSegmentSize: Number(info.wal_segment_size),
  };
  const mappings = parseMappings(config.tablespace_mapping ?? []);
  // A backup set keeps tablespaces inside itself (pg_tblspc/<oid>/), as pg_verifybackup reads them; restoring maps them.
  const tsDir = (ts: Tablespace): string => (inside ? join(dataDir, 'pg_tblspc', ts.oid) : localLocation(ts.location, mappings));
  for (const ts of inside ? [] : tablespaces.filter(isExternal)) {
    const dest = localLocation(ts.location, mappings);
    if (dest.startsWith(`${config.pgdata}/`) || dest === config.pgdata) {
      throw new PitrError(
        'BAD_TABLESPACE_MAPPING',
        `tablespace ${ts.name} would go to ${dest}, inside the data directory; map it elsewhere (tablespace_mapping)`,
      );
    }
  }
  const label = `pitrtools cmd_standby -B ${hostname()} ${new Date().toISOString()}`;
  // Files the master changed in this second or later may change again unseen within the same
  // second; SFTP mtimes have whole seconds, so such files must never be skipped by a later -B.
  // The same reading, kept exactly, is the copy's start for -R: an instant, unlike backup_label's
  // START TIME, whose zone abbreviation can be ambiguous (CST is -06 or +08). Read in the same
  // query, after the start (OFFSET 0 keeps the subquery a step of its own, evaluated first).
  const started = (
    await pg.query<{ lsn: string; at: number }>(
      'SELECT lsn::text AS lsn, extract(epoch FROM clock_timestamp()) AS at FROM (SELECT cmd_backup_start($1, true) AS lsn OFFSET 0) s',
      [label],
    )
  )[0]!;
  const startLsn = started.lsn;
  const startedAtS = Number(started.at);
  const hotSince = Math.floor(startedAtS) - 1;
  const record: BackupRecord = { startLsn, startedAt: new Date(startedAtS * 1000).toISOString() };
  log.info(`backup started on the ${info.in_recovery ? 'source standby' : 'master'} at ${startLsn}; copying ${info.data_directory} to ${dataDir}`);

  // A set of the catalogue (--backup) is restored from archivedir alone, streaming or not.
  if (info.archive_mode === 'off' && (inside || !config.use_streaming_replication) && !info.in_recovery) {
    log.warning('archive_mode is off on the master: the WAL this copy needs to become consistent will not reach archivedir');
  }
  // The copy workers' connections may still be coming up: the marker and the listing do not
  // wait for them (~30 ms), but workers that already failed stop -B before the copy is touched.
  if (engineStart.failure !== undefined) throw engineStart.failure;
  // From here on the local copy is invalid until the end.
  state.invalidated = true;
  await ensureDir(dataDir);
  await writeSynced(join(dataDir, INCOMPLETE_MARKER), `${label}\n`);
  for (const f of ['global/pg_control', 'backup_label', 'tablespace_map', BACKUP_STATE]) await removePath(join(dataDir, f));
  await fsyncDir(dataDir);

  const lost = link.pg.lost.then((e) => {
    throw new PitrError('MASTER_SESSION_LOST', `lost the backup's database session on the master: ${errorMessage(e)}`);
  });
  lost.catch(() => undefined);
  const walker = await walkChannel;
  const debug = log.debugEnabled ? (m: string) => log.debug(m) : undefined;
  const external = tablespaces.filter(isExternal);
  // The walk and the copy run together, joined by a bounded queue: neither the file list nor the
  // per-file state grows with the number of files.
  const listed = new JobQueue<FileJob>(QUEUE_JOBS);
  const plan = emptyPlan(listed);
  const walk = (async (): Promise<void> => {
    await planTree(
      walker,
      {
        remoteRoot: info.data_directory,
        localRoot: dataDir,
        rule: dataDirRule,
        isTablespaceLink: (rel) => /^pg_tblspc\/\d+$/.test(rel) && external.some((t) => rel === `pg_tblspc/${t.oid}`),
      },
      plan,
      !o.checksum,
      debug,
    );
    for (const ts of external) {
      const dest = tsDir(ts);
      log.debug(`tablespace ${ts.name} (${ts.oid}): ${ts.location} -> ${dest}`);
      await planTree(walker, { remoteRoot: ts.location, localRoot: dest, rule: tablespaceRule }, plan, !o.checksum, debug);
      if (!inside) await ensureSymlink(join(dataDir, 'pg_tblspc', ts.oid), dest);
    }
    listed.close();
    if (walker instanceof SenderWalk) walker.end();
    log.info(
      `listed the master: ${plan.files} files (${humanBytes(plan.bytes)}) to copy or compare, ${plan.skipped} unchanged, ${plan.removed} local files removed` +
        (plan.staleTemps > 0 ? `, ${plan.staleTemps} temp files of an interrupted -B cleared` : ''),
    );
  })();
  walk.catch((e: unknown) => listed.abort(e));
  let same = 0;
  let feed: JobFeed<FileJob> = listed;
  let checking: Promise<void> = Promise.resolve();
  if (o.checksum) {
    const sameContent = contentComparer(pg);
    const differ = new JobQueue<FileJob>(QUEUE_JOBS);
    checking = filterStage(listed, differ, config.rsync_threads, async (job) => {
      if (!(await sameContent(job))) return true;
      same++;
      debug?.(`same: ${job.rel}`);
      await o.onFile?.(job);
      return false;
    });
    checking.catch((e: unknown) => {
      differ.abort(e);
      listed.abort(e);
    });
    feed = differ;
  }
  const stopFeeds = (err: unknown): void => {
    listed.abort(err);
    if (feed instanceof JobQueue) feed.abort(err);
  };
  const engine = await engineStart.ready.catch((err: unknown) => {
    stopFeeds(err);
    throw err;
  });
  // The total grows while the walk goes on: the progress line's percentage is of what is known.
  const progress = new Progress(ctx.progress, () => plan.bytes);
  const runOpts = {
    hotSince,
    abort: lost,
    onBytes: (n: number) => progress.add(n),
    onFile: async (job: FileJob, outcome: string) => {
      debug?.(`${outcome}: ${job.rel}`);
      await o.onFile?.(job);
    },
  };
  let copied: CopyResult;
  try {
    try {
      copied = await engine.run(feed, runOpts);
    } catch (err) {
      stopFeeds(err); // the walk and the checks stop at their next job
      throw err;
    } finally {
      await Promise.allSettled([walk, checking]);
    }
    await walk; // a failed walk ends the feed early: its error is the one to report
    await checking;
    // pg_control last: a copy with it but without everything else must never exist.
    const last = new JobQueue<FileJob>(Math.max(1, plan.last.length));
    for (const j of plan.last) await last.push(j);
    last.close();
    const ctl = await engine.run(last, runOpts);
    copied = {
      ...copied,
      copied: copied.copied + ctl.copied,
      bytes: copied.bytes + ctl.bytes,
      same: copied.same + same,
      senderFiles: copied.senderFiles + ctl.senderFiles,
      senderBytes: copied.senderBytes + ctl.senderBytes,
      wireBytes: copied.wireBytes + ctl.wireBytes,
      resynced: copied.resynced + ctl.resynced,
    };
  } finally {
    progress.end();
  }

  log.info(`copy done in ${formatDuration(progress.elapsedMs())}; ending the backup on the master`);
  const [stop] = await Promise.all([Promise.race([stopBackup(link, info.in_recovery ? 'off' : info.archive_mode), lost]), engine.finish()]);
  if (info.in_recovery) await awaitSourceWal(ctx, link, info, startLsn, stop);
  const stoppedAt = stop.at;
  await finishCopy(ctx, dataDir, stop, tablespaces.filter(isExternal).map(tsDir), inside ? [] : mappings, record);
  const elapsedMs = progress.elapsedMs();
  const result: BasebackupResult = {
    ...copied,
    skipped: plan.skipped + copied.same,
    skippedBytes: plan.skippedBytes,
    removed: plan.removed,
    staleTemps: plan.staleTemps,
    elapsedMs,
    startLsn,
    stopLsn: stop.lsn,
    startedAt: record.startedAt,
    stoppedAt,
    labelfile: stop.labelfile,
    spcmapfile: stop.spcmapfile,
    source,
    compress: engineStart.compress,
  };
  return result;
}

/** Jobs the walk may have listed ahead of the copy: enough to keep every stream busy, few enough to hold. */
const QUEUE_JOBS = 256;

/** Moves the jobs of `from` for which `keep` says true to `to`, `parallel` checks at a time; closes `to` at the end. */
async function filterStage(from: JobFeed<FileJob>, to: JobQueue<FileJob>, parallel: number, keep: (job: FileJob) => Promise<boolean>): Promise<void> {
  const lane = async (): Promise<void> => {
    for (let j = await from.take(); j !== undefined; j = await from.take()) if (await keep(j)) await to.push(j);
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  to.close();
}

/** What -B asks the source (cmd_server_info()). */
type ServerInfo = {
  archive_mode: string;
  data_directory: string;
  version_num: number;
  in_recovery: boolean;
  system_identifier: string;
  wal_segment_size: string;
};

/** A standby's pg_backup_stop neither waits for nor includes the WAL: wait for it in archivedir (standby-source.ts). */
async function awaitSourceWal(ctx: Ctx, link: MasterLink, info: ServerInfo, startLsn: string, stop: StopResult): Promise<void> {
  const startTli = labelStartTimeline(stop.labelfile);
  const w = {
    startLsn,
    stopLsn: stop.lsn,
    startTli,
    stopTli: await sourceStopTimeline(link.pg, startTli),
    segSize: Number(info.wal_segment_size),
    sysid: BigInt(info.system_identifier),
  };
  await awaitStandbySourceWal(ctx.config.archivedir, w, ctx.log, { timeoutMs: ctx.config.backup_wal_timeout * 1000 });
}

type StopResult = { lsn: string; labelfile: string; spcmapfile: string; at: string };

async function stopBackup(link: MasterLink, archiveMode: string): Promise<StopResult> {
  // With archiving on, wait until the WAL the copy needs is archived (i.e. shipped to us); a
  // standby source never waits (archive_mode on) or waits for its own archive (always): not ours.
  const wait = archiveMode !== 'off';
  const rows = await link.pg.query<Omit<StopResult, 'at'> & { at: number }>(
    'SELECT lsn::text AS lsn, labelfile, spcmapfile, extract(epoch FROM clock_timestamp()) AS at FROM cmd_backup_stop($1)',
    [wait],
  );
  const r = rows[0]!;
  return { ...r, at: new Date(Number(r.at) * 1000).toISOString() };
}

/** backup_label, tablespace_map and our record of the start last, then fsync everything, then the marker goes. */
async function finishCopy(
  ctx: Ctx,
  pgdata: string,
  stop: StopResult,
  tablespaceDirs: string[],
  mappings: ReturnType<typeof parseMappings>,
  record: BackupRecord,
): Promise<void> {
  await writeSynced(join(pgdata, 'backup_label'), Buffer.from(stop.labelfile, 'utf8'));
  await writeSynced(join(pgdata, BACKUP_STATE), backupRecordText(record));
  if (stop.spcmapfile !== '') await writeSynced(join(pgdata, 'tablespace_map'), Buffer.from(rewriteTablespaceMap(stop.spcmapfile, mappings), 'utf8'));
  const t0 = Date.now();
  // Files received were fsynced before their rename, files kept when the walk saw them: what is
  // left are the directories and the top level (the standby's own files, the marker).
  const topLevel = (rel: string): boolean => !rel.includes('/');
  let files = await fsyncTree(pgdata, topLevel);
  for (const dir of tablespaceDirs) files += await fsyncTree(dir, topLevel);
  ctx.log.debug(`fsynced ${files} files and their directories in ${formatDuration(Date.now() - t0)}`);
  await removePath(join(pgdata, INCOMPLETE_MARKER));
  await fsyncDir(pgdata);
}

/**
 * -B whose source is a standby (pg_is_in_recovery() on the source). PostgreSQL allows the
 * non-exclusive backup there, but pg_backup_stop does not wait for archiving on a standby (unless
 * archive_mode = always) and its stop LSN is the source's minimum recovery point: the WAL from the
 * start to that point must come from this standby's archivedir, where the master's cmd_archiver
 * ships it. Until every such segment is there and whole, the copy is not complete.
 * PostgreSQL docs, "Making a Base Backup Using the Low Level API"; xlog.c do_pg_backup_stop.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { PitrError, errorCode, errorMessage } from '@pitrtools/core/errors';
import type { PgSession } from '@pitrtools/core/pg/client';
import type { Logger } from '@pitrtools/core/log';
import { LONG_HEADER_BYTES, historyProblem, segmentProblem } from '../recovery/wal-file-check.js';

/** What the source's backup needs from the archive. LSNs as PostgreSQL prints them. */
export interface StandbySourceWal {
  startLsn: string;
  stopLsn: string;
  /** backup_label's START TIMELINE. */
  startTli: number;
  /** The source's minRecoveryPointTLI after pg_backup_stop (the timeline of stopLsn). */
  stopTli: number;
  /** Bytes per segment (wal_segment_size). */
  segSize: number;
  /** The source's system identifier (pg_control), to refuse another cluster's segments. */
  sysid?: bigint | undefined;
}

/** backup_label's `START TIMELINE: n`; throws BAD_BACKUP_LABEL when the line is missing. */
export function labelStartTimeline(labelfile: string): number {
  const m = /^START TIMELINE: (\d+)$/m.exec(labelfile);
  if (!m) throw new PitrError('BAD_BACKUP_LABEL', 'the backup_label returned by pg_backup_stop has no START TIMELINE line');
  return Number(m[1]);
}

/** The timeline of the source's stop LSN: pg_control's minRecoveryPointTLI, which do_pg_backup_stop uses on a standby. */
export async function sourceStopTimeline(pg: PgSession, fallback: number): Promise<number> {
  const t = Number(await pg.scalar('SELECT min_recovery_end_timeline FROM pg_control_recovery()'));
  return Number.isInteger(t) && t > 0 ? t : fallback;
}

/** `X/X` in bytes. */
function lsnBytes(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

const hex8 = (n: bigint | number): string => n.toString(16).toUpperCase().padStart(8, '0');

/** The segment file name of segment number `segno` on `tli` (XLogFileName in xlog_internal.h). */
export function segmentName(tli: number, segno: bigint, segSize: number): string {
  const perId = 0x100000000n / BigInt(segSize);
  return `${hex8(tli)}${hex8(segno / perId)}${hex8(segno % perId)}`;
}

/**
 * The segments the backup needs, in order: from the one holding startLsn to the one holding the
 * last byte before stopLsn (XLByteToPrevSeg), each with the names it may have, newest timeline
 * first (a timeline switch during the backup leaves the older segments on the older timeline).
 */
export function neededSegments(w: StandbySourceWal): Array<{ segno: bigint; names: string[] }> {
  const size = BigInt(w.segSize);
  const first = lsnBytes(w.startLsn) / size;
  const stop = lsnBytes(w.stopLsn);
  const last = stop > 0n ? (stop - 1n) / size : 0n;
  const tlis: number[] = [];
  for (let t = Math.max(w.stopTli, w.startTli); t >= w.startTli; t--) tlis.push(t);
  const out: Array<{ segno: bigint; names: string[] }> = [];
  for (let s = first; s <= (last < first ? first : last); s++) out.push({ segno: s, names: tlis.map((t) => segmentName(t, s, w.segSize)) });
  return out;
}

/** Why `name` in `dir` is not a usable file (missing or damaged), or undefined when it is. */
async function fileProblem(dir: string, name: string, sysid: bigint | undefined): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(join(dir, name), 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'missing';
    return `unreadable: ${errorMessage(err)}`;
  }
  try {
    const size = (await fh.stat()).size;
    if (name.endsWith('.history')) return historyProblem(name, (await fh.readFile()).toString('utf8'));
    const head = Buffer.alloc(LONG_HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, LONG_HEADER_BYTES, 0);
    return segmentProblem(name, size, head.subarray(0, bytesRead), sysid);
  } finally {
    await fh.close();
  }
}

/** The first needed file that is not there and whole: its name(s) and why; undefined when all are. */
export async function firstMissing(
  archivedir: string,
  w: StandbySourceWal,
): Promise<{ name: string; problem: string; have: number; need: number } | undefined> {
  const segs = neededSegments(w);
  const history = w.stopTli > w.startTli ? [`${hex8(w.stopTli)}.history`] : [];
  let have = 0;
  let found: { name: string; problem: string } | undefined;
  for (const h of history) {
    const p = await fileProblem(archivedir, h, undefined);
    if (p === undefined) have++;
    else found ??= { name: h, problem: p };
  }
  for (const seg of segs) {
    let why: { name: string; problem: string } | undefined;
    for (const name of seg.names) {
      const p = await fileProblem(archivedir, name, w.sysid);
      if (p === undefined) {
        why = undefined;
        break;
      }
      // A damaged file outranks one that has not arrived under another timeline's name.
      if (why === undefined || (why.problem === 'missing' && p !== 'missing')) why = { name, problem: p };
    }
    if (why === undefined) have++;
    else found ??= why;
  }
  const need = segs.length + history.length;
  return found ? { ...found, have, need } : undefined;
}

/**
 * Why an idle master may never finish the last segment: PostgreSQL's CheckArchiveTimeout
 * (checkpointer.c) switches only when the last important record is past the last switch, and the
 * running-xacts record bgwriter logs is not important (XLOG_MARK_UNIMPORTANT).
 */
const IDLE = "archive_timeout switches a segment only after a write that counts, and an idle master's own records do not";

/** How -B waits. */
export interface WaitOptions {
  timeoutMs: number;
  /** Between two looks at archivedir; default 1000. */
  pollMs?: number;
  /** Between two progress lines; default 10000. */
  reportMs?: number;
}

/**
 * Waits until every segment the backup needs is in archivedir and passes the restore helper's
 * checks (name, size, header, system identifier). Throws STANDBY_SOURCE_WAL_MISSING (exit 1)
 * naming the first missing or damaged segment when `o.timeoutMs` passes first.
 */
export async function awaitStandbySourceWal(archivedir: string, w: StandbySourceWal, log: Logger, o: WaitOptions): Promise<void> {
  const segs = neededSegments(w);
  const range = `${segs[0]!.names.at(-1)} to ${segs.at(-1)!.names[0]}`;
  log.info(
    `the source is a standby: its backup (${w.startLsn} to ${w.stopLsn}) needs ${segs.length} WAL segment${segs.length === 1 ? '' : 's'}, ${range}, from archivedir (${archivedir})`,
  );
  const t0 = Date.now();
  let reported = t0;
  for (;;) {
    const miss = await firstMissing(archivedir, w);
    if (miss === undefined) {
      log.info(`all ${segs.length} WAL segments of the backup are in archivedir`);
      return;
    }
    const now = Date.now();
    if (now - t0 >= o.timeoutMs) {
      const what = miss.problem === 'missing' ? `${miss.name} is not in ${archivedir}` : `${join(archivedir, miss.name)} is unusable: ${miss.problem}`;
      throw new PitrError(
        'STANDBY_SOURCE_WAL_MISSING',
        `the source is a standby and the WAL its backup needs (${range}) did not all reach archivedir within ${Math.round(o.timeoutMs / 1000)} s (backup_wal_timeout): ${what} (${miss.have} of ${miss.need} there)`,
        {
          hint:
            "the master's cmd_archiver must ship to this host's archivedir (this host among its slaves, state online), and the segment holding the backup's end " +
            `must be finished: run SELECT pg_switch_wal() on the master (${IDLE}); then run -B again`,
        },
      );
    }
    if (now - reported >= (o.reportMs ?? 10_000)) {
      reported = now;
      log.info(
        `waiting for the backup's WAL in archivedir: ${miss.have} of ${miss.need} there, next ${miss.name} (${miss.problem}); ${Math.round((o.timeoutMs - (now - t0)) / 1000)} s left` +
          (miss.have === miss.need - 1 && miss.problem === 'missing' ? `; if the master is idle, run SELECT pg_switch_wal() there (${IDLE})` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

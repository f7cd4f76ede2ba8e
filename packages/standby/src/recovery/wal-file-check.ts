/**
 * What the restore helper checks before it hands a file to PostgreSQL. A truncated segment or a
 * garbled `.history` is worse than none: PostgreSQL replays up to the hole and then waits for a
 * record that never comes, or (a bad history file) stops the startup process with FATAL.
 * Pure functions over bytes already read; restore.ts does the reading.
 */

/** Bytes of the long page header that opens every WAL segment (XLogLongPageHeaderData). */
export const LONG_HEADER_BYTES = 40;

// src/include/access/xlog_internal.h: XLogPageHeaderData is xlp_magic (u16), xlp_info (u16),
// xlp_tli (u32), xlp_pageaddr (u64), xlp_rem_len (u32), padded to 24 bytes; the long header adds
// xlp_sysid (u64) at 24, xlp_seg_size (u32) at 32 and xlp_xlog_blcksz (u32) at 36. The layout is
// the same in PostgreSQL 11 to 18 (the magic number changes with each major: not checked here).
const XLP_LONG_HEADER = 0x0002;
const MIN_SEG = 1024 * 1024;
const MAX_SEG = 1024 * 1024 * 1024;

/** What a segment's first page says about it. */
export interface SegmentHeader {
  /** Bytes, as the server that wrote it was initialised (initdb --wal-segsize). */
  segSize: number;
  /** pg_control's system identifier of the cluster that wrote it. */
  sysid: bigint;
  /** LSN of the segment's first byte. */
  pageAddr: bigint;
}

/** Reads the long page header; undefined when `buf` (the first LONG_HEADER_BYTES bytes) is not one. */
export function readSegmentHeader(buf: Buffer): SegmentHeader | undefined {
  if (buf.length < LONG_HEADER_BYTES) return undefined;
  if ((buf.readUInt16LE(2) & XLP_LONG_HEADER) === 0) return undefined;
  return { pageAddr: buf.readBigUInt64LE(8), sysid: buf.readBigUInt64LE(24), segSize: buf.readUInt32LE(32) };
}

/** The LSN a segment named `name` starts at, for segments of `segSize` bytes (XLogFromFileName). */
export function segmentStartLsn(name: string, segSize: number): bigint {
  const log = BigInt(`0x${name.slice(8, 16)}`);
  const seg = BigInt(`0x${name.slice(16, 24)}`);
  return (log * (0x100000000n / BigInt(segSize)) + seg) * BigInt(segSize);
}

/**
 * Why a file is not the complete segment `name` of this cluster, or undefined when it is.
 * `size` is the file's size in bytes, `head` its first LONG_HEADER_BYTES bytes, `sysid` the
 * restoring cluster's system identifier (pg_control) when it could be read.
 */
export function segmentProblem(name: string, size: number, head: Buffer, sysid: bigint | undefined): string | undefined {
  const h = readSegmentHeader(head);
  if (h === undefined) return `it is not a WAL segment (${size} bytes, no long page header at its start)`;
  const powerOfTwo = (h.segSize & (h.segSize - 1)) === 0;
  if (!powerOfTwo || h.segSize < MIN_SEG || h.segSize > MAX_SEG) return `its header names an impossible segment size (${h.segSize} bytes)`;
  if (size !== h.segSize) return `it has ${size} bytes where a segment of this cluster has ${h.segSize} (truncated or still being written)`;
  if (sysid !== undefined && h.sysid !== sysid) {
    return `it was written by another database system (system identifier ${h.sysid}, this one is ${sysid})`;
  }
  const want = segmentStartLsn(name, h.segSize);
  if (h.pageAddr !== want) return `its first page belongs at ${lsnText(h.pageAddr)}, not at ${lsnText(want)} (another segment under this name)`;
  return undefined;
}

/** `X/X`, as PostgreSQL prints an LSN. */
export function lsnText(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/**
 * Why `text` is not a timeline history file PostgreSQL can read as `name` (`TTTTTTTT.history`), or
 * undefined. The rules are readTimeLineHistory's (src/backend/access/transam/timeline.c): each
 * line that is not blank or a `#` comment is `parentTLI<TAB>switchpoint LSN[<TAB>reason]`, the
 * timeline IDs rise and stay below the file's own; writeTimeLineHistory always ends the file with
 * a newline and writes at least one line, so a file without either is cut short.
 */
export function historyProblem(name: string, text: string): string | undefined {
  const own = parseInt(name.slice(0, 8), 16);
  if (text.length === 0) return 'it is empty';
  if (!text.endsWith('\n')) return 'its last line has no newline (cut short)';
  let last = 0;
  let entries = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\d+)\t([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)(\t|$)/.exec(line);
    if (!m) return `line ${i + 1} is not "timeline<TAB>LSN<TAB>reason": ${JSON.stringify(line.slice(0, 60))}`;
    const tli = Number(m[1]);
    if (tli <= last) return `line ${i + 1}: timeline IDs must rise (${tli} after ${last})`;
    if (tli >= own) return `line ${i + 1}: timeline ${tli} is not an ancestor of timeline ${own}`;
    last = tli;
    entries++;
  }
  if (entries === 0) return 'it names no parent timeline';
  return undefined;
}

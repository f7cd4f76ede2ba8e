/**
 * WAL file names: what PostgreSQL hands to archive_command, and the order to deliver them in.
 */

/** The kinds of file PostgreSQL archives. */
export type WalKind = 'segment' | 'history' | 'backup' | 'partial';

const PATTERNS: Array<[WalKind, RegExp]> = [
  ['segment', /^[0-9A-F]{24}$/],
  ['history', /^[0-9A-F]{8}\.history$/],
  ['backup', /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/],
  ['partial', /^[0-9A-F]{24}\.partial$/],
];

/** PostgreSQL's limit on archived file names (MAX_XFN_CHARS is 40; 64 leaves room for the future). */
export const MAX_WAL_NAME = 64;

/** The kind of a WAL file name, or undefined when PostgreSQL would never archive such a name. */
export function walKind(name: string): WalKind | undefined {
  if (name.length === 0 || name.length > MAX_WAL_NAME) return undefined;
  for (const [kind, re] of PATTERNS) if (re.test(name)) return kind;
  return undefined;
}

/** True when `name` is something PostgreSQL archives (segment, .history, .backup, .partial). */
export function isWalName(name: string): boolean {
  return walKind(name) !== undefined;
}

/**
 * Sort order for delivery. Names are upper-case hex, so plain byte order is WAL order:
 * timeline first, then position; `00000002.history` sorts after every timeline-1 segment and
 * before the timeline-2 ones ('.' < '0'), which is exactly when a standby needs it.
 */
export function compareWalNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Timeline of a WAL file name. */
export function walTimeline(name: string): number {
  return parseInt(name.slice(0, 8), 16);
}

/** The segment name PostgreSQL uses for an LSN like `0/3000028` on `timeline` (16 MiB segments by default). */
export function walNameForLsn(lsn: string, timeline: number, segmentSize = 16 * 1024 * 1024): string {
  const [hi, lo] = lsn.split('/').map((p) => BigInt(`0x${p}`)) as [bigint, bigint];
  const pos = (hi << 32n) | lo;
  const segno = pos / BigInt(segmentSize);
  const perId = 0x100000000n / BigInt(segmentSize);
  const hex = (n: bigint): string => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(BigInt(timeline))}${hex(segno / perId)}${hex(segno % perId)}`;
}

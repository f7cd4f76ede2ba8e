/**
 * The WAL the standby's own copy in pgdata still needs, so that the catalogue's retention never
 * removes it: a copy that has not started yet needs everything from backup_label's START WAL
 * LOCATION on; a copy that has started needs everything from the REDO point of its last
 * checkpoint or restartpoint, which pg_control records (ControlFileData in
 * src/include/catalog/pg_control.h: checkPointCopy.redo at byte 40, its timeline at byte 48, the
 * same layout in PostgreSQL 11 to 18, little-endian on the platforms we run on).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

const REDO_OFFSET = 40;

/** The first segment name (24 hex digits) the copy in `pgdata` needs, or undefined when pgdata holds no copy. */
export async function copyNeedsFrom(pgdata: string, segmentSize: number): Promise<string | undefined> {
  const label = await fsp.readFile(join(pgdata, 'backup_label'), 'utf8').catch(() => undefined);
  const m = label !== undefined ? /^START WAL LOCATION: [0-9A-F]+\/[0-9A-F]+ \(file ([0-9A-F]{24})\)$/m.exec(label) : null;
  if (m) return m[1];
  const ctl = await fsp.readFile(join(pgdata, 'global', 'pg_control')).catch(() => undefined);
  if (!ctl || ctl.length < REDO_OFFSET + 12) return undefined;
  const redo = ctl.readBigUInt64LE(REDO_OFFSET);
  const tli = ctl.readUInt32LE(REDO_OFFSET + 8);
  const segno = redo / BigInt(segmentSize);
  const perId = 0x100000000n / BigInt(segmentSize);
  const hex = (n: bigint): string => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(BigInt(tli))}${hex(segno / perId)}${hex(segno % perId)}`;
}

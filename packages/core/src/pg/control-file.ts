/**
 * The first fields of global/pg_control (ControlFileData, src/include/catalog/pg_control.h): the
 * cluster state, the latest checkpoint's location, its REDO point and timeline. Their offsets have
 * not moved since PostgreSQL 11 (which dropped prevCheckPoint) up to 18; the fields after them have,
 * so nothing further is read here (pg_controldata of the server's major reads the rest). Little-endian
 * hosts only, as the file is written in the server's byte order.
 */
import { PitrError } from '../errors.js';

/** DBState of pg_control.h, in its order. */
export const DB_STATES = [
  'starting up',
  'shut down',
  'shut down in recovery',
  'shutting down',
  'in crash recovery',
  'in archive recovery',
  'in production',
] as const;

/** What the prefix of pg_control says. LSNs are byte positions. */
export interface ControlPrefix {
  systemIdentifier: bigint;
  controlVersion: number;
  state: (typeof DB_STATES)[number];
  /** "Latest checkpoint location": where the checkpoint record starts. */
  checkpoint: bigint;
  /** "Latest checkpoint's REDO location". */
  redo: bigint;
  /** "Latest checkpoint's TimeLineID". */
  timeline: number;
}

/**
 * Reads the prefix of a pg_control image (at least 64 bytes). Throws PitrError BAD_PG_CONTROL when
 * pg_control_version is not one of PostgreSQL 11-18's (1100, 1201, 1300, 1700, 1800) or the state is unknown.
 */
export function parseControlPrefix(buf: Buffer, where: string): ControlPrefix {
  if (buf.length < 64) throw new PitrError('BAD_PG_CONTROL', `${where} is ${buf.length} bytes, too short for pg_control`);
  const controlVersion = buf.readUInt32LE(8);
  if (![1100, 1201, 1300, 1700, 1800].includes(controlVersion)) {
    throw new PitrError('BAD_PG_CONTROL', `${where} has pg_control_version ${controlVersion}, not one of PostgreSQL 11-18's (or it is not pg_control)`);
  }
  const stateNo = buf.readInt32LE(16);
  const state = DB_STATES[stateNo];
  if (state === undefined) throw new PitrError('BAD_PG_CONTROL', `${where} has an unknown cluster state ${stateNo}`);
  // state (int32) at 16, 4 bytes padding, time (int64) at 24, checkPoint at 32, checkPointCopy.redo at 40, .ThisTimeLineID at 48.
  return {
    systemIdentifier: buf.readBigUInt64LE(0),
    controlVersion,
    state,
    checkpoint: buf.readBigUInt64LE(32),
    redo: buf.readBigUInt64LE(40),
    timeline: buf.readUInt32LE(48),
  };
}

/** True for the states of a cleanly stopped cluster (a shutdown checkpoint is its last WAL record). */
export function cleanlyShutDown(c: ControlPrefix): boolean {
  return c.state === 'shut down' || c.state === 'shut down in recovery';
}

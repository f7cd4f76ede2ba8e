/**
 * Physical replication slots on a server, through any PgSession (the master through the SSH link,
 * or the local server): list them with the WAL each holds back, create one if absent, drop one
 * nobody uses. Options in, data out; no printing. The judgement of what a slot holds is in
 * slot-verdict.ts (pure), so that cmd_standby --check and cmd_archiver --status share it.
 */
import { PitrError } from '../errors.js';
import type { PgSession } from './client.js';

/** NAMEDATALEN - 1: the longest slot name PostgreSQL accepts, in bytes. */
export const SLOT_NAME_MAX_BYTES = 63;

/**
 * Why `name` is not a valid slot name, or undefined when it is: [a-z0-9_], 1 to 63 bytes, as
 * ReplicationSlotValidateName() in PostgreSQL's src/backend/replication/slot.c decides.
 */
export function slotNameError(name: string): string | undefined {
  if (name.length === 0) return 'a replication slot name cannot be empty';
  if (Buffer.byteLength(name, 'utf8') > SLOT_NAME_MAX_BYTES) {
    return `"${name}" is ${Buffer.byteLength(name, 'utf8')} bytes long: a replication slot name has at most ${SLOT_NAME_MAX_BYTES} (NAMEDATALEN - 1)`;
  }
  const bad = /[^a-z0-9_]/.exec(name);
  if (bad) return `"${name}" contains ${JSON.stringify(bad[0])}: a replication slot name may contain only lower-case letters, digits and underscores`;
  return undefined;
}

/** `prefix` + a host name made into a valid slot name (lower case, other characters as _, cut to 63 bytes). */
export function slotNameFor(prefix: string, host: string): string {
  const h = host
    .split('.')[0]!
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  return `${prefix}${h}`.slice(0, SLOT_NAME_MAX_BYTES);
}

/** One row of pg_replication_slots, with what it holds back. */
export interface SlotInfo {
  name: string;
  type: 'physical' | 'logical';
  active: boolean;
  /** The walsender (or other backend) using it, while active. */
  activePid: number | null;
  /** Oldest WAL the slot needs; null when it reserves none (created without reserving, or lost). */
  restartLsn: string | null;
  /**
   * Bytes of WAL the slot keeps on that server: pg_current_wal_lsn() (on a standby
   * pg_last_wal_replay_lsn()) minus restart_lsn; null without a restart_lsn.
   */
  retainedBytes: number | null;
  /** reserved | extended | unreserved | lost (PostgreSQL 13+), as pg_replication_slots shows it. */
  walStatus: string | null;
  /** Bytes that may still be written before the slot is in danger of losing WAL; null with max_slot_wal_keep_size = -1. */
  safeWalSize: number | null;
}

const SLOT_SQL = `SELECT slot_name AS n, slot_type AS t, active AS a, active_pid AS p, restart_lsn::text AS r,
    pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, restart_lsn)::bigint::text AS h,
    wal_status AS w, safe_wal_size::text AS s
  FROM pg_replication_slots`;

interface SlotRow extends Record<string, unknown> {
  n: string;
  t: string;
  a: boolean;
  p: number | null;
  r: string | null;
  h: string | null;
  w: string | null;
  s: string | null;
}

function toInfo(x: SlotRow): SlotInfo {
  return {
    name: x.n,
    type: x.t === 'logical' ? 'logical' : 'physical',
    active: x.a,
    activePid: x.p,
    restartLsn: x.r,
    retainedBytes: x.h === null ? null : Math.max(0, Number(x.h)),
    walStatus: x.w,
    safeWalSize: x.s === null ? null : Number(x.s),
  };
}

/** Every slot of the server `pg` is connected to, by name. Throws PitrError PG_QUERY_FAILED as the query does. */
export async function listSlots(pg: PgSession): Promise<SlotInfo[]> {
  return (await pg.query<SlotRow>(`${SLOT_SQL} ORDER BY slot_name`)).map(toInfo);
}

/** The slot called `name`, or undefined. */
export async function findSlot(pg: PgSession, name: string): Promise<SlotInfo | undefined> {
  const rows = await pg.query<SlotRow>(`${SLOT_SQL} WHERE slot_name = $1`, [name]);
  return rows[0] === undefined ? undefined : toInfo(rows[0]);
}

/** What ensurePhysicalSlot did: found it, created it, or dropped a slot that had lost its WAL and created it anew. */
export type EnsureAction = 'exists' | 'created' | 'recreated';

/** Where a slot is made, for error messages (e.g. "the master (PostgreSQL ... via ssh ...)"). */
export interface SlotPlace {
  where: string;
  /** The ini key that names the slot, for the hint of a conflict (e.g. 'slot_name'). */
  key?: string;
}

const sqlStateOf = (err: unknown): string | undefined => {
  const s = (err as { sqlState?: unknown } | undefined)?.sqlState;
  return typeof s === 'string' ? s : undefined;
};

/**
 * Makes sure a physical slot `name` exists, reserving WAL at once (pg_create_physical_replication_slot(name, true)).
 * A slot whose WAL was removed (wal_status 'lost', PostgreSQL 13+) and that nobody uses is dropped and made
 * anew. Throws PitrError SLOT_IS_LOGICAL (exit 2) when a logical slot has that name, SLOT_CREATE_FAILED when the
 * server refuses (max_replication_slots, privileges), with the fix.
 */
export async function ensurePhysicalSlot(pg: PgSession, name: string, place: SlotPlace): Promise<{ action: EnsureAction; slot: SlotInfo }> {
  const key = place.key ?? 'the slot name';
  let found = await findSlot(pg, name);
  if (found?.type === 'logical') {
    throw new PitrError('SLOT_IS_LOGICAL', `${place.where} has a logical replication slot "${name}": a standby needs a physical one`, {
      hint: `set ${key} to another name, or drop that slot if nothing uses it`,
    });
  }
  let action: EnsureAction = 'created';
  if (found?.walStatus === 'lost' && !found.active) {
    if ((await dropSlotIfUnused(pg, name)) !== 'active') {
      found = undefined;
      action = 'recreated';
    }
  }
  if (found !== undefined) return { action: 'exists', slot: found };
  try {
    await pg.query('SELECT pg_create_physical_replication_slot($1, true)', [name]);
  } catch (err) {
    // Created by someone else meanwhile (42710 duplicate_object): it exists, which is all we want.
    if (sqlStateOf(err) !== '42710') {
      throw new PitrError('SLOT_CREATE_FAILED', `cannot create the replication slot "${name}" on ${place.where}: ${(err as Error).message}`, {
        cause: err,
        hint: 'the master needs max_replication_slots above the number of its slots (a restart), and a user with REPLICATION or superuser (master_db_user)',
      });
    }
    action = 'exists';
  }
  const slot = await findSlot(pg, name);
  if (slot === undefined)
    throw new PitrError('SLOT_CREATE_FAILED', `the replication slot "${name}" was created on ${place.where} but is gone again`, {
      hint: 'is something dropping slots there?',
    });
  return { action, slot };
}

/** What dropSlotIfUnused did. */
export type DropResult = 'dropped' | 'absent' | 'active';

/**
 * Drops the slot `name` unless a process uses it (then 'active', nothing changed); 'absent' when
 * there is no such slot. Throws PitrError PG_QUERY_FAILED for any other refusal.
 */
export async function dropSlotIfUnused(pg: PgSession, name: string): Promise<DropResult> {
  const s = await findSlot(pg, name);
  if (s === undefined) return 'absent';
  if (s.active) return 'active';
  try {
    await pg.query('SELECT pg_drop_replication_slot($1)', [name]);
    return 'dropped';
  } catch (err) {
    // 42704 undefined_object: dropped meanwhile; 55006 object_in_use: taken meanwhile.
    if (sqlStateOf(err) === '42704') return 'absent';
    if (sqlStateOf(err) === '55006') return 'active';
    throw err;
  }
}

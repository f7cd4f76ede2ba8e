/**
 * This standby's own physical replication slot (use_replication_slots, as repmgr's): -S makes sure
 * it exists on the master and streams through it (primary_slot_name), so the master keeps every
 * segment the standby has not received, even while it is down. -F999 drops a slot of that name on
 * the promoted server itself (a master does not stream through its own slot) and never reaches for
 * the dead master: the old master's slots go with --rejoin, followers create theirs on the new
 * master with --follow. The queries are core's (pg/slots.ts); this file decides when and what to say.
 */
import { hostname } from 'node:os';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import type { PgSession } from '@pitrtools/core/pg/client';
import {
  dropSlotIfUnused,
  ensurePhysicalSlot,
  findSlot,
  listSlots,
  slotNameFor,
  type DropResult,
  type EnsureAction,
  type SlotInfo,
} from '@pitrtools/core/pg/slots';
import type { Ctx } from '../context.js';
import { withMasterLink } from '../master-link.js';
import { receiverSlot } from '../receiver/files.js';

/** This standby's slot name: slot_name, else pitrtools_<this host name> (valid as PostgreSQL wants it). */
export function standbySlotName(config: StandbyConfig): string {
  return config.slot_name ?? slotNameFor('pitrtools_', hostname());
}

/** What -S did about the slot on the master. */
export interface StandbySlotResult {
  name: string;
  /** undefined when the master could not be asked (the slot is used anyway; --check reports it). */
  action?: EnsureAction;
  slot?: SlotInfo;
}

/** Options of ensureStandbySlot. */
export interface EnsureSlotOptions {
  /** How long a slot another connection holds may take to be released (a just-stopped walsender), ms; default 15 s. */
  releaseWaitMs?: number;
}

/**
 * -S with use_replication_slots: creates this standby's physical slot on the master if absent (WAL
 * reserved at once), through the master link. Returns undefined with the key off. Throws PitrError
 * SLOTS_NEED_STREAMING (exit 2) without use_streaming_replication, SLOT_NAME_CLASH (exit 2) when the
 * WAL receiver (wal_receiver) uses the same slot name, SLOT_IN_USE (exit 1) when another
 * connection keeps using the slot (two standbys with one slot_name), SLOT_IS_LOGICAL / SLOT_CREATE_FAILED
 * from core. A master that cannot be reached is a WARNING, not a failure: the standby starts and
 * replays the archive; streaming through the slot starts once the slot exists.
 */
export async function ensureStandbySlot(ctx: Ctx, o: EnsureSlotOptions = {}): Promise<StandbySlotResult | undefined> {
  const { config, log } = ctx;
  if (!config.use_replication_slots) return undefined;
  if (!config.use_streaming_replication) {
    throw new PitrError(
      'SLOTS_NEED_STREAMING',
      `${config.file}: use_replication_slots is on but use_streaming_replication is off: only a streaming standby uses a slot`,
      {
        hint: 'set use_streaming_replication: on, or use_replication_slots: off',
      },
    );
  }
  const name = standbySlotName(config);
  if (config.wal_receiver && receiverSlot(config) === name) {
    throw new PitrError(
      'SLOT_NAME_CLASH',
      `${config.file}: slot_name and wal_receiver_slot both name the slot "${name}": the server's WAL receiver and pg_receivewal cannot stream through one slot`,
      {
        hint: 'give slot_name and wal_receiver_slot different values',
      },
    );
  }
  try {
    return await withMasterLink(config, log, { applicationName: 'pitrtools slot' }, async (l) => {
      const place = { where: `the master (${l.where})`, key: 'slot_name' };
      const r = await ensurePhysicalSlot(l.pg, name, place);
      const slot = r.slot.active ? await waitReleased(l.pg, name, o.releaseWaitMs ?? 15_000) : r.slot;
      if (slot?.active) {
        throw new PitrError(
          'SLOT_IN_USE',
          `the replication slot "${name}" on ${place.where} is in use by another connection (pid ${slot.activePid} there): two standbys cannot stream through one slot`,
          {
            hint: `give each standby of this master its own slot_name in its ini file (this one is ${config.file})`,
          },
        );
      }
      const kept = slot?.retainedBytes != null ? `, keeping WAL from ${slot.restartLsn}` : '';
      if (r.action === 'recreated')
        log.warning(
          `the replication slot "${name}" on the master had lost WAL (wal_status lost, max_slot_wal_keep_size): dropped and created anew; this standby needs what is missing from archivedir`,
        );
      else log.info(`replication slot "${name}" on the master: ${r.action === 'created' ? 'created' : 'exists'}${kept}`);
      return { name, action: r.action, ...(slot ? { slot } : {}) };
    });
  } catch (err) {
    if (err instanceof PitrError && ['SLOT_IN_USE', 'SLOT_IS_LOGICAL', 'SLOT_CREATE_FAILED'].includes(err.code)) throw err;
    log.warning(
      `cannot reach the master to create the replication slot "${name}" (${errorMessage(err)}): starting anyway; streaming waits for the slot, run -S again once the master answers`,
    );
    return { name };
  }
}

// A walsender of a standby that was just stopped may take a moment to notice and let go.
async function waitReleased(pg: PgSession, name: string, ms: number): Promise<SlotInfo | undefined> {
  const deadline = Date.now() + ms;
  let s = await findSlot(pg, name);
  while (s?.active && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    s = await findSlot(pg, name);
  }
  return s;
}

/**
 * After a promotion (-F999): drops a slot named like this standby's own on the promoted server
 * itself, unless something streams through it. Returns what happened, or undefined with
 * use_replication_slots off. Other slots there (a cascaded standby's) are left alone.
 */
export async function dropOwnSlotAfterPromotion(config: StandbyConfig, local: PgSession): Promise<{ name: string; result: DropResult } | undefined> {
  if (!config.use_replication_slots) return undefined;
  const name = standbySlotName(config);
  return { name, result: await dropSlotIfUnused(local, name) };
}

/**
 * --rejoin: the old master's own slots (those its standbys streamed through) came back with its
 * data directory (pg_rewind and the delta -B leave pg_replslot as it is). On a standby nobody
 * consumes them and they would hold WAL for ever: every physical slot not in use is dropped and
 * named in the log. Returns the names dropped. `local` is a session on the rejoined server.
 */
export async function dropFormerMasterSlots(local: PgSession, log: { notice(m: string): void }): Promise<string[]> {
  const dropped: string[] = [];
  for (const s of await listSlots(local)) {
    if (s.type !== 'physical' || s.active) continue;
    if ((await dropSlotIfUnused(local, s.name)) === 'dropped') {
      dropped.push(s.name);
      log.notice(`dropped the replication slot "${s.name}" this server kept as the master (nobody streams through it now)`);
    }
  }
  return dropped;
}

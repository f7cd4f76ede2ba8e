import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { memoryLogger } from '@pitrtools/core/log';
import { slotNameError } from '@pitrtools/core/pg/slots';
import { ensureStandbySlot, standbySlotName } from '../src/replication/standby-slot.js';
import type { Ctx } from '../src/context.js';

const ctx = (c: Partial<StandbyConfig>): Ctx => ({
  config: { file: '/etc/s.ini', use_replication_slots: true, use_streaming_replication: true, wal_receiver: false, ...c } as StandbyConfig,
  log: memoryLogger(true),
});

test('the slot name: slot_name, else pitrtools_<host> made valid', () => {
  assert.equal(standbySlotName(ctx({ slot_name: 'mine' }).config), 'mine');
  const d = standbySlotName(ctx({}).config);
  assert.equal(slotNameError(d), undefined, d);
  assert.ok(
    d.startsWith(
      `pitrtools_${hostname()
        .split('.')[0]!
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63),
    ),
    d,
  );
});

test('refused before the master is asked: off is nothing, no streaming and a name shared with the WAL receiver are usage errors', async () => {
  assert.equal(await ensureStandbySlot(ctx({ use_replication_slots: false })), undefined);
  await assert.rejects(
    ensureStandbySlot(ctx({ use_streaming_replication: false })),
    (e: Error & { code?: string; exitCode?: number }) =>
      e.code === 'SLOTS_NEED_STREAMING' &&
      e.exitCode === 2 &&
      /^\/etc\/s\.ini: use_replication_slots is on but use_streaming_replication is off/.test(e.message),
  );
  await assert.rejects(
    ensureStandbySlot(ctx({ wal_receiver: true, slot_name: 'x', wal_receiver_slot: 'x' })),
    (e: Error & { code?: string; exitCode?: number }) => e.code === 'SLOT_NAME_CLASH' && e.exitCode === 2,
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../src/config/validate.js';
import { judgeSlot, judgeSlots } from '../src/pg/slot-verdict.js';
import { dropSlotIfUnused, ensurePhysicalSlot, slotNameError, slotNameFor, type SlotInfo } from '../src/pg/slots.js';
import type { PgSession } from '../src/pg/client.js';

test('slot names as PostgreSQL validates them: [a-z0-9_], 1 to 63 bytes', () => {
  assert.equal(slotNameError('pitrtools_standby1'), undefined);
  assert.equal(slotNameError('a'.repeat(63)), undefined);
  assert.match(slotNameError('a'.repeat(64)) ?? '', /64 bytes long: .* at most 63 \(NAMEDATALEN - 1\)/);
  assert.match(slotNameError('') ?? '', /cannot be empty/);
  for (const bad of ['Standby1', 'standby-1', 'stand by', 'é', 'a.b']) {
    assert.match(slotNameError(bad) ?? '', /may contain only lower-case letters, digits and underscores/, bad);
  }
  assert.equal(slotNameFor('pitrtools_', 'DB-Host-2.example.net'), 'pitrtools_db_host_2');
  assert.equal(slotNameFor('pitrtools_', 'h'.repeat(80)).length, 63);
  assert.equal(slotNameError(slotNameFor('pitrtools_', 'Ünïcode-hôst')), undefined);
});

test('slot_name and wal_receiver_slot are checked when the ini is loaded, naming the key', () => {
  const env = { home: '/home/pg', username: 'pg' };
  const loadConfigText = (text: string) => parseConfig(text, '/etc/cmd_standby.ini', 'standby', env);
  const base = 'master_public_ip: m\nuser: postgres\npgdata: /d\narchivedir: /a\n';
  assert.equal(loadConfigText(`[DEFAULT]\n${base}slot_name: standby_1\nuse_replication_slots: on\n`).config.slot_name, 'standby_1');
  assert.throws(() => loadConfigText(`[DEFAULT]\n${base}slot_name: Standby-1\n`), /key 'slot_name': "Standby-1" contains "S"/);
  assert.throws(() => loadConfigText(`[DEFAULT]\n${base}wal_receiver_slot: ${'x'.repeat(64)}\n`), /key 'wal_receiver_slot': .*at most 63/);
});

const slot = (o: Partial<SlotInfo>): SlotInfo => ({
  name: 's',
  type: 'physical',
  active: true,
  activePid: 1,
  restartLsn: '0/1000000',
  retainedBytes: 0,
  walStatus: 'reserved',
  safeWalSize: null,
  ...o,
});
const L = { warnBytes: 1000, critBytes: 5000 };

test('what a slot holds back: WARNING while active past warn, CRITICAL while inactive past warn, CRITICAL past critical, lost always CRITICAL', () => {
  assert.equal(judgeSlot(slot({ retainedBytes: 999 }), L).state, 0);
  assert.equal(judgeSlot(slot({ retainedBytes: 999, active: false }), L).state, 0);
  const w = judgeSlot(slot({ name: 'busy', retainedBytes: 1000 }), L);
  assert.equal(w.state, 1);
  assert.match(w.why ?? '', /^slot busy \(active\) holds 1000 B of WAL \(warning at 1000 B\)$/);
  const dead = judgeSlot(slot({ name: 'dead', active: false, retainedBytes: 1000 }), L);
  assert.equal(dead.state, 2);
  assert.match(dead.why ?? '', /^slot dead \(inactive\) holds 1000 B of WAL and nobody consumes it/);
  assert.equal(judgeSlot(slot({ retainedBytes: 5000 }), L).state, 2);
  assert.equal(judgeSlot(slot({ retainedBytes: null, restartLsn: null, walStatus: 'lost', active: false }), L).state, 2);
  assert.equal(judgeSlot(slot({ retainedBytes: 10, walStatus: 'unreserved' }), L).state, 1);
  // No limits: only wal_status speaks.
  assert.equal(judgeSlot(slot({ retainedBytes: 1e12, active: false }), { warnBytes: null, critBytes: null }).state, 0);
});

test('all slots: the worst state, problems worst first, and our own slot missing is CRITICAL', () => {
  const j = judgeSlots([slot({ name: 'a', retainedBytes: 2000 }), slot({ name: 'b', active: false, retainedBytes: 2000 }), slot({ name: 'c' })], {
    limits: L,
    own: 'c',
  });
  assert.equal(j.state, 2);
  assert.equal(j.ownMissing, false);
  assert.deepEqual(
    j.problems.map((p) => p.split(' ')[1]),
    ['b', 'a'],
  );
  const m = judgeSlots([slot({ name: 'a' })], { limits: L, own: 'mine' });
  assert.equal(m.state, 2);
  assert.equal(m.ownMissing, true);
  assert.match(m.problems[0]!, /this standby's slot mine does not exist on the master/);
  assert.equal(judgeSlots([], { limits: L }).state, 0);
});

/** A fake server holding slots in a map; `race` makes the next create fail as if another session created it first. */
function fakePg(slots: Map<string, SlotInfo>, race = false): PgSession & { calls: string[] } {
  const calls: string[] = [];
  const fail = (code: string): never => {
    throw Object.assign(new Error(code), { sqlState: code });
  };
  const row = (s: SlotInfo): Record<string, unknown> => ({
    n: s.name,
    t: s.type,
    a: s.active,
    p: s.activePid,
    r: s.restartLsn,
    h: s.retainedBytes === null ? null : String(s.retainedBytes),
    w: s.walStatus,
    s: null,
  });
  return {
    versionNum: 150000,
    major: 15,
    calls,
    lost: new Promise(() => undefined),
    end: async () => undefined,
    scalar: async () => undefined,
    query: async <T>(sql: string, params?: unknown[]): Promise<T[]> => {
      const name = params?.[0] as string;
      if (sql.includes('pg_create_physical_replication_slot')) {
        calls.push(`create ${name}`);
        if (slots.has(name)) fail('42710');
        slots.set(name, slot({ name, active: false, activePid: null }));
        if (race) fail('42710');
        return [];
      }
      if (sql.includes('pg_drop_replication_slot')) {
        calls.push(`drop ${name}`);
        slots.delete(name);
        return [];
      }
      if (sql.includes('WHERE slot_name')) return (slots.has(name) ? [row(slots.get(name)!)] : []) as T[];
      return [...slots.values()].map(row) as T[];
    },
  };
}

test('ensurePhysicalSlot: creates once, then finds it; a lost slot is made anew; a logical one is refused; a race is no error', async () => {
  const slots = new Map<string, SlotInfo>();
  const pg = fakePg(slots);
  assert.equal((await ensurePhysicalSlot(pg, 's1', { where: 'm' })).action, 'created');
  assert.equal((await ensurePhysicalSlot(pg, 's1', { where: 'm' })).action, 'exists');
  assert.deepEqual(pg.calls, ['create s1']);
  slots.set('s1', slot({ name: 's1', active: false, walStatus: 'lost', restartLsn: null, retainedBytes: null }));
  assert.equal((await ensurePhysicalSlot(pg, 's1', { where: 'm' })).action, 'recreated');
  slots.set('l', slot({ name: 'l', type: 'logical' }));
  await assert.rejects(
    ensurePhysicalSlot(pg, 'l', { where: 'the master', key: 'slot_name' }),
    (e: Error & { code?: string; hint?: string }) => e.code === 'SLOT_IS_LOGICAL' && /set slot_name to another name/.test(e.hint ?? ''),
  );
  assert.equal((await ensurePhysicalSlot(fakePg(new Map(), true), 's2', { where: 'm' })).action, 'exists');
});

test('dropSlotIfUnused: drops an idle slot, leaves an active one, absent is fine', async () => {
  const slots = new Map([
    ['idle', slot({ name: 'idle', active: false })],
    ['busy', slot({ name: 'busy' })],
  ]);
  const pg = fakePg(slots);
  assert.equal(await dropSlotIfUnused(pg, 'idle'), 'dropped');
  assert.equal(await dropSlotIfUnused(pg, 'busy'), 'active');
  assert.equal(await dropSlotIfUnused(pg, 'none'), 'absent');
  assert.deepEqual([...slots.keys()], ['busy']);
});

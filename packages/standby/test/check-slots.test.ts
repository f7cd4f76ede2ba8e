import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SlotInfo } from '@pitrtools/core/pg/slots';
import { evaluateCheck, renderNagios, renderStatus } from '../src/recovery/check-report.js';

const off = { warn: null, crit: null };
const t = {
  warnBytes: null,
  critBytes: null,
  warnSeconds: 60,
  critSeconds: 600,
  stuck: off,
  receiver: off,
  master: off,
  restored: off,
  allowPrimary: false,
  slots: { warnBytes: 1000, critBytes: 100000 },
};
const slot = (o: Partial<SlotInfo>): SlotInfo => ({
  name: 's',
  type: 'physical',
  active: true,
  activePid: 7,
  restartLsn: '0/3000000',
  retainedBytes: 10,
  walStatus: 'reserved',
  safeWalSize: null,
  ...o,
});
const base = { running: true, inRecovery: true, lagBytes: 0, lagSource: 'master', notes: [] };

test('--check with slots: own slot reported, others within limits are OK, perfdata has the largest', () => {
  const r = evaluateCheck({ ...base, ownSlot: 'mine', slots: [slot({ name: 'mine', retainedBytes: 50 }), slot({ name: 'other', retainedBytes: 900 })] }, t);
  assert.equal(r.code, 0);
  assert.match(r.text, /own slot mine active, holds 50 B, 2 slots on the master within limits$/);
  assert.match(renderNagios(r), / 'slot_retained_max'=900B;1000;100000;0$/);
});

test('--check with slots: an idle slot past warn is CRITICAL and named, our missing slot is CRITICAL, and the stopped standby still reports slots', () => {
  const idle = evaluateCheck({ ...base, slots: [slot({ name: 'gone', active: false, activePid: null, retainedBytes: 5000 })] }, t);
  assert.equal(idle.status, 'CRITICAL');
  assert.match(idle.text, /slot gone \(inactive\) holds 4\.9 KiB of WAL and nobody consumes it/);
  const busy = evaluateCheck({ ...base, slots: [slot({ name: 'busy', retainedBytes: 5000 })] }, t);
  assert.equal(busy.status, 'WARNING');
  const missing = evaluateCheck({ ...base, ownSlot: 'mine', slots: [slot({ name: 'other' })] }, t);
  assert.equal(missing.status, 'CRITICAL');
  assert.match(missing.text, /this standby's slot mine does not exist on the master/);
  assert.match(renderStatus(missing, 'm'), /^slot: {4}mine \(this standby's\): MISSING on the master$/m);
  const stopped = evaluateCheck({ running: false, ownSlot: 'mine', slots: [slot({ name: 'mine', active: false, retainedBytes: 2000 })], notes: [] }, t);
  assert.equal(stopped.status, 'CRITICAL');
  assert.match(stopped.text, /^the local server is not running, own slot mine INACTIVE, holds 2000 B, slot mine \(inactive\) holds 2\.0 KiB/);
  // Without slots asked, nothing about slots (and no perfdata for them).
  assert.doesNotMatch(renderNagios(evaluateCheck(base, t)), /slot/);
});

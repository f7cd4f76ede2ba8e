/** slaveLabel: one name for a slave in output (its queue's, as logs and alerts use), with its section's beside it when they differ. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseSlaveEntry, slaveLabel } from '../src/config/slaves.js';

it('host:port shows the queue name and the section; a bare host is one name', () => {
  const label = (text: string): string => {
    const p = parseSlaveEntry(text);
    assert.ok('value' in p, JSON.stringify(p));
    return slaveLabel(p.value);
  };
  assert.equal(label('db2:2222'), 'db2_2222 ([db2:2222] in the ini)');
  assert.equal(label('[::1]:2222'), '__1_2222 ([[::1]:2222] in the ini)');
  assert.equal(label('standby1'), 'standby1');
});

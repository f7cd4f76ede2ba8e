/**
 * -P against a fake master: a master that drops the session mid-query, and one whose SSH refuses,
 * are MASTER_NO_RESPONSE (exit 1) with the reason and the hint, notify_critical's event raised once,
 * and the link closed; a master that answers gives its version as PostgreSQL names it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError } from '@pitrtools/core/errors';
import { memoryLogger } from '@pitrtools/core/log';
import { pingMaster } from '../src/commands/ping.js';
import type { Ctx } from '../src/context.js';
import type { withMasterLink } from '../src/master-link.js';
import { fakeLink } from './fake-master-link.js';

function ctx(): Ctx & { log: ReturnType<typeof memoryLogger> } {
  return { config: {} as StandbyConfig, log: memoryLogger(false) };
}

test('a master that answers: its version as PostgreSQL names it, nothing printed by the command', async () => {
  const f = fakeLink(async () => [{ in_recovery: false }]);
  const c = ctx();
  assert.deepEqual(await pingMaster(c, f.link), { version: '15.18', inRecovery: false });
  assert.equal(f.closed(), 1);
  assert.deepEqual(c.log.messages, []);
});

test('a server in recovery answers too: exit 0 (a standby may copy from a standby), inRecovery and one WARNING naming it', async () => {
  const f = fakeLink(async (sql) => {
    assert.match(sql, /pg_is_in_recovery\(\)/);
    return [{ in_recovery: true }];
  });
  const c = ctx();
  assert.deepEqual(await pingMaster(c, f.link), { version: '15.18', inRecovery: true });
  assert.deepEqual(
    c.log.messages.map(([lvl]) => lvl),
    ['WARNING'],
  );
  assert.match(c.log.messages[0]![1], /^the fake master is in recovery: it is a standby, not a master\. .*master_public_ip and port/);
  assert.equal(f.closed(), 1);
});

test('a master that drops the session mid-query: MASTER_NO_RESPONSE (exit 1) with the reason, one CRITICAL, the link closed', async () => {
  const f = fakeLink(async () => {
    throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
  });
  const c = ctx();
  await assert.rejects(pingMaster(c, f.link), (e: PitrError) => {
    assert.equal(e.code, 'MASTER_NO_RESPONSE');
    assert.equal(e.exitCode, 1);
    assert.match(e.message, /^no response from the master: Connection terminated unexpectedly/);
    return true;
  });
  assert.equal(f.closed(), 1, 'the link is closed after the drop');
  assert.deepEqual(
    c.log.messages.filter(([lvl]) => lvl === 'CRITICAL').map(([, m]) => m),
    ['no response from the master: Connection terminated unexpectedly'],
  );
});

test('SSH refused before any session: the reason and its hint are kept', async () => {
  const refused = (async () => {
    throw new PitrError('SSH_REFUSED', 'connection to 127.0.0.1:1 refused', { hint: 'is sshd running on the master?' });
  }) as typeof withMasterLink;
  await assert.rejects(
    pingMaster(ctx(), refused),
    (e: PitrError) => e.code === 'MASTER_NO_RESPONSE' && e.hint === 'is sshd running on the master?' && /refused/.test(e.message),
  );
});

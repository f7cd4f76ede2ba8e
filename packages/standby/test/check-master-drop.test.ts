/**
 * --check against a master that drops the session in the middle (through Ctx.master, the port
 * every --check question to the master goes through): the answer already had is not reported as
 * if the rest were known; the verdict says what could not be asked, and the link is closed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '@pitrtools/core/config/index';
import { memoryLogger } from '@pitrtools/core/log';
import { checkStandby } from '../src/commands/check.js';
import type { Ctx } from '../src/context.js';
import type { withMasterLink } from '../src/master-link.js';
import { fakeLink } from './fake-master-link.js';

const tmp = mkdtempSync(join(tmpdir(), 'pitr-check-drop-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function ctx(master: typeof withMasterLink): Ctx {
  const pgdata = join(tmp, 'pgdata');
  const archivedir = join(tmp, 'archive');
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  mkdirSync(archivedir, { recursive: true, mode: 0o700 });
  const ini = join(tmp, 'cmd_standby.ini');
  writeFileSync(
    ini,
    `[DEFAULT]\npgdata: ${pgdata}\narchivedir: ${archivedir}\nuser: pitr\nmaster_public_ip: 192.0.2.1\nmaster_local_ip: 127.0.0.1\nuse_streaming_replication: on\nuse_replication_slots: on\n`,
    { mode: 0o600 },
  );
  return { config: loadConfig(ini, 'standby').config, log: memoryLogger(false), master };
}

/** A master whose `n`-th query (1-based) finds the session gone; counts queries and closes. */
function droppingMaster(n: number): { link: typeof withMasterLink; queries: () => number; closed: () => number } {
  let queries = 0;
  const { link, closed } = fakeLink(async (sql: string) => {
    if (++queries === n) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    if (/^SELECT \(CASE WHEN pg_is_in_recovery/.test(sql)) return [{ lsn: '0/5000000', seg: '16MB' }];
    return []; // the slots
  });
  return { link, queries: () => queries, closed };
}

test('a stopped standby with a slot: the master answers its WAL position, then drops the session before the slots: a note says so, no slot verdict, link closed', async () => {
  const m = droppingMaster(2);
  const r = await checkStandby(ctx(m.link), { masterTimeoutMs: 5000 });
  assert.equal(m.queries(), 2, 'the slots were asked after the WAL position');
  assert.equal(m.closed(), 1);
  assert.equal(r.facts.slots, undefined, 'no slots reported from a session that was cut');
  assert.ok(r.facts.notes.includes('cannot ask the master for its replication slots: Connection terminated unexpectedly'), r.facts.notes.join('\n'));
});

test('the same master answering both questions: the slots are reported (so the test above depends on the drop)', async () => {
  const m = droppingMaster(0);
  const r = await checkStandby(ctx(m.link), { masterTimeoutMs: 5000 });
  assert.equal(m.queries(), 2);
  assert.deepEqual(r.facts.slots, []);
  assert.deepEqual(r.facts.notes, []);
});

// pitr-test: once
/**
 * A slave that comes back gets its queue within seconds of the next segment, not queue_wait
 * later. On the warm path PostgreSQL's runs are answered by cmd_queue (or from a proof marker),
 * and cmd_queue remembers a failed connect for queue_wait; a new segment for a slave with a queue
 * must make it try again at once (at most every few seconds).
 * Runs on one PostgreSQL major (pitr-test: once): what it proves is in the SSH and queue
 * layers, the same whatever the server's version.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256File, startArchiverEnv, type ArchiverEnv, type TestSlave } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

after(cleanupAll);

/** So long that only a prompt retry can deliver within the test's wait. */
const QUEUE_WAIT_S = 300;

let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'back', slaves: 1, ini: { queue_wait: String(QUEUE_WAIT_S) } });
});

test(`a slave back after an outage gets its queue within seconds of the next segment (queue_wait ${QUEUE_WAIT_S} s)`, async (t) => {
  const slave = env.slaves[0] as TestSlave;
  const queueDir = join(env.lArchivedir, slave.name);
  await env.archiveMore(2); // cmd_queue is up and connected
  assert.ok(env.daemonPid() !== undefined, 'cmd_queue runs');
  await slave.sshd.stop();
  const queued = await env.archiveMore(3);
  for (const n of queued) assert.equal(sha256File(join(queueDir, n)), sha256File(join(env.pg.pgdata, 'pg_wal', n)), `${n} queued`);
  await slave.sshd.start();
  const t0 = Date.now();
  const next = await env.archiveMore(1);
  // Well under queue_wait: only a retry prompted by the new segment can deliver the queue in time.
  await waitFor('the queue delivered after the slave came back', async () => env.walFiles(queueDir).length === 0, 30_000, 100);
  t.diagnostic(`queue delivered ${Date.now() - t0} ms after the sshd came back`);
  for (const n of [...queued, ...next]) {
    assert.equal(sha256File(join(slave.rdir, n)), sha256File(join(env.pg.pgdata, 'pg_wal', n)), `${n} on the slave`);
  }
  const ok = await waitFor('notify_ok', async () => env.alerts().find((a) => a.level === 'OK'));
  assert.equal(ok.event, 'slave_recovered');
});

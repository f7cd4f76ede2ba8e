// pitr-test: once
// pitr-test: long
/**
 * A long outage in small (1 MiB) segments: one slave's sshd is stopped while 1 000 segments are
 * archived, then started again. Everything drains to it byte-identical and in WAL order, the
 * queue ends empty and its summary says so (issue 17: the queue kept in constant work per segment).
 * Runs on one PostgreSQL major (pitr-test: once): what it proves is in the SSH and queue
 * layers, the same whatever the server's version.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256File, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

after(cleanupAll);

const N = 1000;
let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({
    name: 'drain',
    slaves: 2,
    initdbArgs: ['--wal-segsize=1'],
    // Keep every segment of the test in pg_wal, to compare bytes with the originals.
    pgConf: { wal_keep_size: "'3GB'", max_wal_size: "'4GB'", min_wal_size: "'32MB'" },
  });
});

test(`a slave down while ${N} small segments are archived, then back: all drain byte-identical, in WAL order, the queue ends empty`, async () => {
  const [live, dead] = env.slaves as [(typeof env.slaves)[0], (typeof env.slaves)[0]];
  assert.equal(await env.pg.scalar('SHOW wal_segment_size'), '1MB');
  await env.archiveMore(2, 600_000);
  await dead.sshd.stop();
  const names = await env.archiveMore(N, 600_000);
  assert.equal(names.length, N);
  const queue = join(env.lArchivedir, dead.name);
  const queued = env.walFiles(queue);
  for (const n of names) assert.ok(queued.includes(n), `${n} waits in the dead slave's queue`);
  assert.deepEqual(
    env.walFiles(dead.rdir).filter((n) => names.includes(n)),
    [],
    'nothing reached the dead slave',
  );
  for (const n of names) assert.equal(sha256File(join(live.rdir, n)), sha256File(join(env.pg.pgdata, 'pg_wal', n)), `live slave has ${n}`);
  // The summary the per-segment path reads agrees with the directory.
  const summary = JSON.parse(readFileSync(join(queue, '.queue-summary'), 'utf8')) as { count: number; bytes: number };
  assert.deepEqual([summary.count, summary.bytes], [queued.length, queued.length * 1024 * 1024]);

  await dead.sshd.start();
  await waitFor('the queue drained', async () => env.walFiles(queue).length === 0, 600_000, 500);
  for (const n of names) assert.equal(sha256File(join(dead.rdir, n)), sha256File(join(env.pg.pgdata, 'pg_wal', n)), `${n} delivered byte-identical`);
  // WAL order: the drain sends the oldest first, one at a time, so each file appeared after the one before.
  const appeared = names.map((n) => statSync(join(dead.rdir, n)).ctimeMs);
  for (let i = 1; i < N; i++) assert.ok(appeared[i]! >= appeared[i - 1]!, `${names[i]} arrived before ${names[i - 1]}`);
  const after = JSON.parse(readFileSync(join(queue, '.queue-summary'), 'utf8')) as { count: number; bytes: number };
  assert.deepEqual([after.count, after.bytes], [0, 0], 'the summary says empty');
  const ok = await waitFor('notify_ok', async () => env.alerts().find((a) => a.level === 'OK'));
  assert.match(ok.message, new RegExp(`slave ${dead.name} \\(.*\\) recovered, ${queued.length} segments delivered`));
  assert.deepEqual(
    env.alerts().map((a) => a.event),
    ['slave_unreachable', 'slave_recovered'],
  );
  assert.equal((await env.stats()).failed, 0);
});

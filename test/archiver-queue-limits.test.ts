// pitr-test: ends
/**
 * The queue's bounds under PostgreSQL: queue_warn_bytes and queue_critical_bytes alert once on the
 * way up; past queue_max_bytes the slave's queue is deleted, NEEDS_BASE_BACKUP written, one
 * critical alert sent, and the slave detached (the master's disk and PostgreSQL carry on);
 * --reset-slave reattaches it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256File, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { makeSegments, waitFor } from './rig/postgres.js';

after(cleanupAll);
let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({
    name: 'limits',
    slaves: 2,
    ini: { queue_warn_bytes: '10MB', queue_critical_bytes: '20MB', queue_max_bytes: '40MB' },
  });
});

/** Archives one more segment through PostgreSQL; returns its name. */
async function one(): Promise<string> {
  const before = await env.stats();
  await makeSegments(env.pg, 1);
  const s = await waitFor(
    'archived',
    async () => {
      const x = await env.stats();
      return x.archived > before.archived ? x : undefined;
    },
    60_000,
    20,
  );
  assert.equal(s.failed, before.failed);
  return s.last!;
}

test('warn and critical once each on the way up; past queue_max_bytes: dropped, marker, one alert, detached; --reset-slave', async () => {
  const [live, dead] = env.slaves as [(typeof env.slaves)[0], (typeof env.slaves)[0]];
  await one();
  await dead.sshd.stop();
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push(await one());
  const events = env.alerts().map((a) => `${a.level}:${a.event}`);
  assert.deepEqual(events, ['CRITICAL:slave_unreachable', 'WARNING:queue_over_warn', 'CRITICAL:queue_over_critical', 'CRITICAL:slave_dropped']);
  const dropped = env.alerts().at(-1)!;
  assert.equal(dropped.slave, dead.name);
  assert.match(
    dropped.message,
    new RegExp(
      `slave ${dead.name} dropped: its queue would pass queue_max_bytes \\(40\\.0 MiB\\); 2 queued segments deleted ` +
        `and ${env.lArchivedir}/${dead.name}/NEEDS_BASE_BACKUP written\\. It needs a new base backup: ` +
        `run cmd_archiver -C ${env.ini} --reset-slave ${dead.name}, then cmd_standby -B on the slave`,
    ),
  );
  assert.deepEqual(env.walFiles(join(env.lArchivedir, dead.name)), [], 'nothing queued while detached');
  assert.match(
    readFileSync(join(env.lArchivedir, dead.name, 'NEEDS_BASE_BACKUP'), 'utf8'),
    /would pass queue_max_bytes \(40\.0 MiB\): 32\.0 MiB already queued/,
  );
  for (const n of names) assert.equal(sha256File(join(live.rdir, n)), sha256File(join(env.pg.pgdata, 'pg_wal', n)), `live slave has ${n}`);
  assert.equal((await env.stats()).failed, 0, 'PostgreSQL never saw a failure');

  const check = await env.run(['-C', env.ini, '--check']);
  assert.equal(check.code, 2);
  assert.match(check.stdout, new RegExp(`^PITR_ARCHIVER CRITICAL - ${dead.name} dropped, needs a new base backup and --reset-slave`));
  const unknown = await env.run(['-C', env.ini, '--reset-slave', 'nosuchslave']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no such slave/);

  const reset = await env.run(['-C', env.ini, '--reset-slave', dead.entry]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, new RegExp(`slave ${dead.name} reattached`));
  assert.ok(!existsSync(join(env.lArchivedir, dead.name, 'NEEDS_BASE_BACKUP')));
  assert.equal((await env.run(['-C', env.ini, '--check'])).code, 0);
  await dead.sshd.start();
  const after = await one();
  await waitFor('delivered to the reattached slave', async () => existsSync(join(dead.rdir, after)));
  assert.equal(sha256File(join(dead.rdir, after)), sha256File(join(env.pg.pgdata, 'pg_wal', after)));
  assert.equal((await env.run(['-C', env.ini, '--reset-slave', dead.name])).stdout.trim(), `slave ${dead.name} was not detached; nothing to do`);
});

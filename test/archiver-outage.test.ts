// pitr-test: ends
/**
 * One slave's sshd stops during a burst: PostgreSQL still sees success, the live slave has every
 * segment at once, the dead one's segments wait in its queue, one critical alert fires; when its
 * sshd is back, cmd_queue drains the queue in WAL order and notify_ok says so.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256File, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

after(cleanupAll);

let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'outage', slaves: 2 });
});

test('slave down during a burst: success for PostgreSQL, queued in WAL order, one alert; back: drained, notify_ok', async () => {
  const [live, dead] = env.slaves as [(typeof env.slaves)[0], (typeof env.slaves)[0]];
  await env.archiveMore(2); // cmd_queue is up and connected to both
  await dead.sshd.stop();
  const names = await env.archiveMore(10);
  for (const n of names) {
    const want = sha256File(join(env.pg.pgdata, 'pg_wal', n));
    assert.equal(sha256File(join(live.rdir, n)), want, `live slave has ${n}`);
    assert.equal(sha256File(join(env.lArchivedir, dead.name, n)), want, `${n} waits in the dead slave's queue`);
  }
  assert.deepEqual(
    env.walFiles(dead.rdir).filter((n) => names.includes(n)),
    [],
  );
  assert.deepEqual(env.walFiles(join(env.lArchivedir, live.name)), [], 'nothing queued for the live slave');
  const critical = await waitFor('the outage alert', async () => {
    const a = env.alerts().filter((x) => x.level === 'CRITICAL');
    return a.length > 0 ? a : undefined;
  });
  assert.equal(critical.length, 1, JSON.stringify(critical));
  assert.equal(critical[0]!.event, 'slave_unreachable');
  assert.equal(critical[0]!.slave, dead.name);
  assert.equal(critical[0]!.args.at(-1), critical[0]!.message, 'the message is the last argument, whole');
  assert.deepEqual(critical[0]!.args, ['CRITICAL', critical[0]!.message], 'the configured word, then the message as one argument');

  // --check during the outage: the queue shows in perfdata; no thresholds set → OK, -w 0 → WARNING.
  // (The look-ahead may already have queued a segment PostgreSQL has not asked for yet.)
  const queued = env.walFiles(join(env.lArchivedir, dead.name)).length;
  assert.ok(queued >= 10);
  const ok = await env.run(['-C', env.ini, '--check']);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(
    ok.stdout,
    new RegExp(`^PITR_ARCHIVER OK - ${dead.name}: ${queued} queued \\(${queued * 16}\\.0 MiB\\), oldest \\d+s \\| .*'queue_files_${dead.name}'=${queued};;;0`),
  );
  const warn = await env.run(['-C', env.ini, '--check', '-w', '0']);
  assert.equal(warn.code, 1, warn.stdout);
  assert.match(warn.stdout, /^PITR_ARCHIVER WARNING - /);
  const json = await env.run(['-C', env.ini, '--check', '--json']);
  const report = JSON.parse(json.stdout) as { service: string; state: string; perfdata: string; slaves: Array<{ name: string; files: number; bytes: number }> };
  assert.equal(report.state, 'OK');
  assert.equal(report.service, 'PITR_ARCHIVER', 'the one Nagios JSON shape of both programs');
  assert.match(report.perfdata, /'queue_bytes_/);
  assert.deepEqual(
    report.slaves.map((s) => [s.name, s.files, s.bytes]),
    [
      [live.name, 0, 0],
      [dead.name, queued, queued * 16 * 1024 * 1024],
    ],
  );

  await dead.sshd.start();
  await waitFor('the queue drained', async () => env.walFiles(join(env.lArchivedir, dead.name)).length === 0, 60_000);
  for (const n of names) assert.equal(sha256File(join(dead.rdir, n)), sha256File(join(env.pg.pgdata, 'pg_wal', n)), `${n} delivered`);
  const ok1 = await waitFor('notify_ok', async () => env.alerts().find((a) => a.level === 'OK'));
  assert.equal(ok1.event, 'slave_recovered');
  assert.match(ok1.message, new RegExp(`slave ${dead.name} \\(.*\\) recovered, ${queued} segments delivered`));
  // WAL order: the drain went oldest first, one at a time, so each file appeared (ctime) after the one before.
  const appeared = names.map((n) => statSync(join(dead.rdir, n)).ctimeMs);
  assert.deepEqual(
    appeared,
    [...appeared].sort((a, b) => a - b),
    'delivered in WAL order',
  );
  // Afterwards both slaves get each new segment directly again, and no further alert fires.
  const more = await env.archiveMore(2);
  for (const s of env.slaves) for (const n of more) assert.equal(sha256File(join(s.rdir, n)), sha256File(join(env.pg.pgdata, 'pg_wal', n)));
  assert.deepEqual(
    env.alerts().map((a) => a.event),
    ['slave_unreachable', 'slave_recovered'],
  );
  assert.equal((await env.stats()).failed, 0);

  // cmd_queue lives as long as the postmaster: stopping PostgreSQL ends it, pid file gone.
  const pid = env.daemonPid();
  assert.ok(pid !== undefined);
  await env.pg.stop();
  await waitFor('cmd_queue exits with the postmaster', async () => env.daemonPid() === undefined, 15_000);
  assert.match(readFileSync(join(env.lArchivedir, 'cmd_queue.log'), 'utf8'), /the postmaster is gone; cmd_queue exits/);
  assert.ok(!existsSync(join(env.lArchivedir, '.cmd_queue.pid')));
});

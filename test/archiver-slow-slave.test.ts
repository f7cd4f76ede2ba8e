// pitr-test: once
// pitr-test: long
/**
 * A slow slave never holds the master. Two slaves: one on loopback, one behind a real 2 Mbit/s
 * link (the netns + veth + tbf that scripts/setup.sh builds as root; its sshd runs inside the
 * namespace through the capped nsenter, see test/rig/sshd.ts SLOW_LINK). The slow slave's SSH
 * connection stays alive (keepalives answer), so ssh_timeout never fires: only slave_deadline
 * bounds a run. Segments are 8 MiB (initdb --wal-segsize=8): about 34 s each over the slow link,
 * which is what a run without slave_deadline takes, far above the bound asserted here. (With a
 * small ssh_timeout the old code instead gave up after ~8 s with a false "unreachable" alert: a
 * keepalive waits behind the writes queued on the slow link.)
 *
 * PostgreSQL's own archiving is paused (archive_command = ''), and the test plays its part by
 * running cmd_archiver -F on each new segment, timing it.
 * Runs on one PostgreSQL major (pitr-test: once): what it proves is in the SSH and queue
 * layers, the same whatever the server's version.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CMD_ARCHIVER, CMD_QUEUE, FRONT_END, sha256File, startArchiverEnv, type ArchiverEnv, type TestSlave } from './rig/archiver-env.js';
import { cleanupAll, onCleanup } from './rig/cleanup.js';
import { makeSegments, waitFor } from './rig/postgres.js';
import { requireSlowLink } from './rig/sshd.js';

after(cleanupAll);

/**
 * Long enough for the fast (loopback) slave on a busy machine: at 2 s both slaves missed it while
 * a CI run went on beside (SSH set-up and 8 MiB through sshd on a loaded CPU); far below the ~34 s
 * the slow link needs.
 */
const DEADLINE_S = 8;
/** Far from the normal time (deadline + a few seconds of start-up and local copying), below the ~34 s of the old code. */
const BOUND_MS = (DEADLINE_S + 15) * 1000;
/** The background delivery of one 8 MiB segment at 2 Mbit/s takes about 34 s: poll generously. */
const DELIVERY_MS = 240_000;

let env: ArchiverEnv;
let fast: TestSlave;
let slow: TestSlave;
const handled = new Set<string>();

before(async () => {
  // Fails (never skips) with the command to run when the slow link is missing.
  requireSlowLink();
  env = await startArchiverEnv({
    name: 'slow',
    slaves: 2,
    slowSlaves: [1],
    initdbArgs: ['--wal-segsize=8'],
    // ssh_timeout 30: keepalives every 5 s, 3 missed allowed, so the slow-but-alive connection is
    // never declared dead (an answer can wait behind ~2 MiB of queued writes: 8 s at 2 Mbit/s).
    ini: { slave_deadline: String(DEADLINE_S), warm_path: 'off', queue_wait: '1', ssh_timeout: '30' },
  });
  [fast, slow] = env.slaves as [TestSlave, TestSlave];
  await env.pg.setConf({ archive_command: "''" });
  await env.pg.reload();
  const pid = env.daemonPid();
  if (pid !== undefined) process.kill(pid, 'SIGTERM');
  await waitFor('no cmd_queue yet', async () => env.daemonPid() === undefined);
});

const walPath = (n: string): string => join(env.pg.pgdata, 'pg_wal', n);
const ready = (): string[] =>
  env.walFiles(join(env.pg.pgdata, 'pg_wal')).filter((n) => existsSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${n}.ready`)));

/** Makes one segment and returns its name (the one .ready file not seen before). */
async function newSegment(): Promise<string> {
  await makeSegments(env.pg, 1);
  const fresh = await waitFor('a new .ready segment', async () => {
    const r = ready().filter((n) => !handled.has(n));
    return r.length > 0 ? r : undefined;
  });
  for (const n of fresh) handled.add(n);
  return fresh.at(-1)!;
}

/** What PostgreSQL does once archive_command succeeded, so that no look-ahead ships it again. */
function markDone(names: Iterable<string>): void {
  const dir = join(env.pg.pgdata, 'pg_wal', 'archive_status');
  for (const n of names) if (existsSync(join(dir, `${n}.ready`))) renameSync(join(dir, `${n}.ready`), join(dir, `${n}.done`));
}

function assertSame(path: string, name: string, what: string): void {
  assert.ok(existsSync(path), `${what}: ${path} exists`);
  assert.equal(sha256File(path), sha256File(walPath(name)), `${what}: byte-identical to pg_wal/${name}`);
}

test('standalone cmd_archiver -F: exit 0 within slave_deadline + margin; fast slave has it, slow slave queued, cmd_queue delivers it', async (t) => {
  const name = await newSegment();
  const r = await env.run(['-C', env.ini, '-F', `pg_wal/${name}`], { cwd: env.pg.pgdata, bin: CMD_ARCHIVER, timeoutMs: 180_000 });
  t.diagnostic(`cmd_archiver -F (standalone) took ${Math.round(r.ms)} ms, exit ${r.code}`);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.ok(r.ms < BOUND_MS, `the run took ${Math.round(r.ms)} ms; slave_deadline is ${DEADLINE_S} s, so it must be under ${BOUND_MS} ms`);
  assert.match(r.stderr, new RegExp(`too slow: ${name} not delivered within slave_deadline \\(${DEADLINE_S} s\\)`));
  assertSame(join(fast.rdir, name), name, `fast slave (the run said: ${r.stderr.trim()})`);
  assertSame(join(env.lArchivedir, slow.name, name), name, "slow slave's queue");
  assert.deepEqual(env.walFiles(join(env.lArchivedir, fast.name)), [], 'nothing queued for the fast slave');
  // cmd_queue (started by the run because something was queued) ships it at the link's pace.
  await waitFor(
    'cmd_queue delivered the segment to the slow slave',
    async () => env.walFiles(join(env.lArchivedir, slow.name)).length === 0 && existsSync(join(slow.rdir, name)),
    DELIVERY_MS,
    500,
  );
  assertSame(join(slow.rdir, name), name, 'slow slave, delivered by cmd_queue');
  // A cut of our own making is no outage: no alert at all.
  assert.deepEqual(
    env.alerts().map((a) => a.event),
    [],
  );
  markDone([name]);
});

test('warm path (sh front end asking cmd_queue): answered within slave_deadline + margin; SIGTERM during the crawl stops cmd_queue in seconds with the queue intact', async (t) => {
  // A queue warning whose hook runs long: a stopping cmd_queue must not wait for it.
  await waitFor('the slow queue is empty before this test', async () => env.walFiles(join(env.lArchivedir, slow.name)).length === 0, DELIVERY_MS, 500);
  const hookStarted = join(env.dir, 'warn-hook.started');
  env.writeIni({ warm_path: 'on', queue_warn_bytes: '1', notify_warning: `/bin/sh -c 'touch "$0"; sleep 20' ${hookStarted}` });
  await waitFor('the standalone cmd_queue exits (the ini changed)', async () => env.daemonPid() === undefined, 15_000);
  const queueLog = join(env.dir, 'cmd_queue-fg.log');
  const startQueue = () => {
    const child = spawn(process.execPath, [CMD_QUEUE, '-C', env.ini, '--log-file', queueLog], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
    onCleanup('cmd_queue (foreground)', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    return { child, exited };
  };
  const q = startQueue();
  await waitFor('cmd_queue connected to both slaves', async () => (readFileSync(queueLog, 'utf8').match(/connected to slave/g) ?? []).length >= 2, 30_000);

  const name = await newSegment();
  const r = await env.run(['-C', env.ini, '-F', `pg_wal/${name}`], { bin: FRONT_END, cwd: env.pg.pgdata, timeoutMs: 180_000 });
  t.diagnostic(`sh front end -F (warm) took ${Math.round(r.ms)} ms, exit ${r.code}`);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.ok(r.ms < BOUND_MS, `the run took ${Math.round(r.ms)} ms; slave_deadline is ${DEADLINE_S} s, so it must be under ${BOUND_MS} ms`);
  assertSame(join(fast.rdir, name), name, `fast slave (the run said: ${r.stderr.trim()})`);
  assertSame(join(env.lArchivedir, slow.name, name), name, "slow slave's queue");
  assert.match(readFileSync(queueLog, 'utf8'), new RegExp(`too slow: ${name} not delivered within slave_deadline`));
  await waitFor('the queue warning hook runs (and goes on for 20 s)', async () => existsSync(hookStarted), 15_000);

  // The upload goes on in cmd_queue (its temp file grows on the slow slave): stop it now.
  await waitFor('an upload in flight to the slow slave', async () => uploadTemps(slow.rdir).length > 0, 15_000);
  assert.equal(q.child.exitCode, null, 'cmd_queue still running');
  const t0 = Date.now();
  q.child.kill('SIGTERM');
  const end = await q.exited;
  t.diagnostic(`cmd_queue stopped ${end.at - t0} ms after SIGTERM, exit ${end.code}`);
  assert.equal(end.code, 0, 'cmd_queue exits 0 on SIGTERM');
  // Within seconds (STOP_GRACE_MS for hooks, then out), not after the 20 s hook or the upload: 15 s leaves a busy machine room.
  assert.ok(end.at - t0 < 15_000, `cmd_queue took ${end.at - t0} ms to stop after SIGTERM; it must stop within a few seconds`);
  assertSame(join(env.lArchivedir, slow.name, name), name, 'queue intact after the stop');
  assert.equal(env.daemonPid(), undefined, 'pid file released');

  // Started again, cmd_queue ships the queue to the slow slave at the link's pace.
  startQueue();
  await waitFor(
    'cmd_queue delivered the segment to the slow slave',
    async () => env.walFiles(join(env.lArchivedir, slow.name)).length === 0 && existsSync(join(slow.rdir, name)),
    DELIVERY_MS,
    500,
  );
  assertSame(join(slow.rdir, name), name, 'slow slave, delivered by cmd_queue');
  assert.deepEqual(
    env
      .alerts()
      .filter((a) => a.level === 'CRITICAL')
      .map((a) => a.event),
    [],
    'no outage alert for a slow slave',
  );
  markDone([name]);
});

/** Temp files of uploads in flight in a slave's r_archivedir (`.NAME.<hex>.tmp`). */
function uploadTemps(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^\..+\.[0-9a-f]{16}\.tmp$/.test(n));
}

// pitr-test: once
/**
 * A slave that did not take a segment, for each cause, against a real sshd: cmd_archiver -F
 * queues the segment (exit 0) and the alert's event and message name the real cause: connection
 * refused, login refused (wrong key), host key not accepted (wrong known_hosts), permission denied
 * (r_archivedir 0500; r_archivedir writable by others or a symbolic link: refused by us, over SFTP
 * and through the receiver), disk full (a tmpfs smaller than a segment), and a directory fsync that
 * fails after the rename (r_archivedir 0300: OpenSSH cannot open it for reading). With
 * remote_dir_fsync: off the last one is delivered, with a WARNING.
 * Runs on one PostgreSQL major (pitr-test: once): what it proves is in the SSH and queue
 * layers, the same whatever the server's version.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CMD_QUEUE, queueRunnerPid, sha256File, startArchiverEnv, type ArchiverEnv, type RecordedAlert, type TestSlave } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

/** The 8 MiB tmpfs scripts/setup.sh mounts for this test (as root). */
const SMALL_FS = '/var/lib/pitr-rig/small-fs';
const CMD_STANDBY = new URL('../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;

after(cleanupAll);

let env: ArchiverEnv;
let s: TestSlave;
let segment: string;
let n = 0;
before(async () => {
  // archive_mode off: only the runs of this test archive, so each alert comes from one of them.
  env = await startArchiverEnv({ name: 'causes', slaves: 1, pgConf: { archive_mode: 'off' } });
  s = env.slaves[0]!;
  await env.pg.query('SELECT pg_switch_wal()');
  segment = env.walFiles(join(env.pg.pgdata, 'pg_wal'))[0]!;
  // Finished (switched): marked as PostgreSQL marks a segment it archived, which -F requires.
  writeFileSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${segment}.done`), '');
});

async function stopDaemon(q: string): Promise<void> {
  const pid = queueRunnerPid(q);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  await waitFor('cmd_queue gone', async () => queueRunnerPid(q) === undefined, 30_000);
}

/**
 * Runs `-F segment` (standalone unless warm_path: on is passed), by default with a fresh
 * l_archivedir (a new outage each time), then stops the cmd_queue it may have started.
 */
async function archiveOnce(
  over: Record<string, string> = {},
  queue?: string,
): Promise<{ code: number | null; out: string; queued: string[]; alerts: RecordedAlert[]; queue: string }> {
  const q = queue ?? join(env.dir, `queue-${++n}`);
  mkdirSync(q, { recursive: true, mode: 0o700 });
  const seen = env.alerts().length;
  env.writeIni({ l_archivedir: q, warm_path: 'off', ...over });
  if (over['warm_path'] === 'on') {
    const d = await env.run(['-C', env.ini, '--daemon'], { bin: CMD_QUEUE });
    assert.equal(d.code, 0, d.stderr);
    await waitFor('cmd_queue up with its proof markers', async () => queueRunnerPid(q) !== undefined && existsSync(join(q, '.archived')), 30_000);
  }
  const r = await env.run(['-C', env.ini, '-F', `pg_wal/${segment}`]);
  const queued = env.walFiles(join(q, s.name));
  // A run that queued starts cmd_queue in the background: wait for it, or it would start late,
  // read the next case's ini and mix its alerts into that case.
  if (queued.length > 0) await waitFor('the cmd_queue the run started', async () => queueRunnerPid(q) !== undefined, 30_000);
  await stopDaemon(q);
  const log = join(q, 'cmd_queue.log');
  const daemonLog = existsSync(log) ? readFileSync(log, 'utf8') : '';
  // cmd_queue's alerts run in the background: they are all out once it has stopped.
  return { code: r.code, out: r.stdout + r.stderr + daemonLog, queued, alerts: env.alerts().slice(seen), queue: q };
}

/** The one CRITICAL alert of a run, with its event and message checked. */
function oneAlert(alerts: RecordedAlert[], event: string, message: RegExp): void {
  const critical = alerts.filter((a) => a.level === 'CRITICAL');
  assert.equal(critical.length, 1, JSON.stringify(alerts));
  assert.equal(critical[0]!.event, event, critical[0]!.message);
  assert.equal(critical[0]!.slave, s.name);
  assert.match(critical[0]!.message, message);
}

function withRdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = s.rdir;
  s.rdir = dir;
  return fn().finally(() => {
    s.rdir = saved;
    env.writeIni();
  });
}

test('connection refused (sshd stopped): queued, slave_unreachable names the refusal', async () => {
  await s.sshd.stop();
  try {
    const r = await archiveOnce();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.queued, [segment]);
    oneAlert(r.alerts, 'slave_unreachable', new RegExp(`^slave ${s.name} \\(.*\\) unreachable: .*refused`));
  } finally {
    await s.sshd.start();
  }
});

test('login refused (a key the slave does not accept): queued, slave_auth_failed', async () => {
  const saved = s.sshd.clientKey;
  const other = join(mkdtempSync(join(env.dir, 'key-')), 'other_ed25519');
  assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]).status, 0);
  s.sshd.clientKey = other;
  try {
    const r = await archiveOnce();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.queued, [segment]);
    oneAlert(r.alerts, 'slave_auth_failed', new RegExp(`^slave ${s.name} \\(.*\\) refuses our SSH login: `));
  } finally {
    s.sshd.clientKey = saved;
  }
});

test('host key not accepted (known_hosts holds another key for it): queued, slave_host_key_rejected', async () => {
  const saved = s.knownHostsFile;
  const other = join(mkdtempSync(join(env.dir, 'hk-')), 'host');
  assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]).status, 0);
  s.knownHostsFile = join(env.dir, 'wrong_known_hosts');
  writeFileSync(s.knownHostsFile, `[127.0.0.1]:${s.sshd.port} ${readFileSync(`${other}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}\n`);
  try {
    const r = await archiveOnce();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.queued, [segment]);
    oneAlert(r.alerts, 'slave_host_key_rejected', new RegExp(`^slave ${s.name} \\(.*\\) host key not accepted: `));
  } finally {
    s.knownHostsFile = saved;
  }
});

test('permission denied (r_archivedir 0500): queued, slave_write_failed says permission denied, not unreachable', async () => {
  const dir = join(env.dir, 'slave-ro');
  mkdirSync(dir, { mode: 0o500 });
  await withRdir(dir, async () => {
    const r = await archiveOnce();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.queued, [segment]);
    oneAlert(
      r.alerts,
      'slave_write_failed',
      new RegExp(`^slave ${s.name} \\(.*\\) cannot store segments in ${dir} \\(permission denied\\): .*permission denied`),
    );
  });
});

test('r_archivedir not ours alone (writable by others, or a symbolic link): nothing written there, not even for a moment; queued, slave_write_failed names the fix; the same through the receiver (compress: zstd)', async () => {
  const shared = join(env.dir, 'slave-open');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  const real = join(env.dir, 'slave-real');
  mkdirSync(real, { mode: 0o700 });
  const linked = join(env.dir, 'slave-link');
  symlinkSync(real, linked);
  const cases: Array<[string, string, RegExp]> = [
    [shared, shared, /it is writable by others \(its group and every user; mode 0777\).*chmod 0700/],
    [linked, real, /it is a symbolic link .*name the directory itself/],
  ];
  for (const [dir, onDisk, why] of cases) {
    for (const over of [{}, { compress: 'zstd', slave_cmd_standby: CMD_STANDBY }]) {
      await withRdir(dir, async () => {
        // inotify sees a temp file that was written and removed again before the run ended (the
        // old SFTP path wrote the whole segment through the link, then refused to link it).
        const created: string[] = [];
        const watcher = watch(onDisk, (_event, name) => created.push(String(name)));
        let r: Awaited<ReturnType<typeof archiveOnce>>;
        try {
          r = await archiveOnce(over);
          await new Promise((resolve) => setTimeout(resolve, 100)); // the last events reach the watcher
        } finally {
          watcher.close();
        }
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(r.queued, [segment]);
        assert.doesNotMatch(r.out, /shipping uncompressed over SFTP/);
        oneAlert(r.alerts, 'slave_write_failed', new RegExp(`\\(permission denied\\): .*refusing to write in r_archivedir ${dir}`));
        oneAlert(r.alerts, 'slave_write_failed', why);
        assert.deepEqual(created, [], `nothing written in ${onDisk}, not even a temp for a moment (${JSON.stringify(over)})`);
        assert.deepEqual(readdirSync(onDisk), [], `nothing in ${onDisk} (${JSON.stringify(over)})`);
      });
    }
  }
});

test('disk full (r_archivedir on an 8 MiB filesystem): queued, slave_write_failed says disk full', async () => {
  // Never skipped: without the filesystem this test fails and says how to get it.
  const mounted = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === SMALL_FS);
  assert.ok(mounted, `${SMALL_FS} is not a mount point: run scripts/setup.sh as root (it mounts an 8 MiB tmpfs there)`);
  const st = statfsSync(SMALL_FS);
  assert.ok(st.blocks * st.bsize < 16 * 1024 * 1024, `${SMALL_FS} must be smaller than one WAL segment`);
  const dir = mkdtempSync(join(SMALL_FS, 'archive-'));
  try {
    await withRdir(dir, async () => {
      const r = await archiveOnce();
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(r.queued, [segment]);
      oneAlert(
        r.alerts,
        'slave_write_failed',
        new RegExp(`^slave ${s.name} \\(.*\\) cannot store segments in ${dir} \\(disk full\\): SFTP write .*: disk full`),
      );
      // (A dot-temp may stay behind when the test stops the cmd_queue that was retrying: cmd_queue removes those after an hour.)
      assert.deepEqual(env.walFiles(dir), [], 'nothing under a final name');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with compress: zstd (the receiver on the slave): permission denied and disk full give the same alerts and causes as over SFTP', async () => {
  const zstd = { compress: 'zstd', slave_cmd_standby: CMD_STANDBY };
  const ro = join(env.dir, 'slave-ro-zstd');
  mkdirSync(ro, { mode: 0o500 });
  await withRdir(ro, async () => {
    const r = await archiveOnce(zstd);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.queued, [segment]);
    assert.doesNotMatch(r.out, /shipping uncompressed over SFTP/);
    oneAlert(
      r.alerts,
      'slave_write_failed',
      new RegExp(`^slave ${s.name} \\(.*\\) cannot store segments in ${ro} \\(permission denied\\): .*permission denied`),
    );
  });
  const dir = mkdtempSync(join(SMALL_FS, 'archive-zstd-'));
  try {
    await withRdir(dir, async () => {
      const r = await archiveOnce(zstd);
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(r.queued, [segment]);
      oneAlert(
        r.alerts,
        'slave_write_failed',
        new RegExp(`^slave ${s.name} \\(.*\\) cannot store segments in ${dir} \\(disk full\\): .*no space left on device`),
      );
      assert.deepEqual(env.walFiles(dir), [], 'nothing under a final name');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the directory cannot be fsynced after the rename (r_archivedir 0300): not counted as delivered; remote_dir_fsync: off delivers with a WARNING', async () => {
  const dir = join(env.dir, 'slave-wx');
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o300); // writable and searchable, not readable: the file is created, open(dir) fails
  after(() => chmodSync(dir, 0o700)); // so that the rig can remove it
  await withRdir(dir, async () => {
    const r = await archiveOnce();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.queued, [segment], 'queued: the slave does not count as delivered');
    oneAlert(r.alerts, 'slave_write_failed', new RegExp(`\\(permission denied\\): fsync of directory ${dir} on .* failed: permission denied`));
    // The link had succeeded: the next run finds the same bytes there, which count only once the directory is fsynced.
    const again = await archiveOnce();
    assert.deepEqual(again.queued, [segment], 'an identical file in a directory that cannot be fsynced is not delivered either');
    oneAlert(again.alerts, 'slave_write_failed', /fsync of directory .* failed: permission denied/);
    // The warm path (cmd_queue's look-ahead ships it: its own upload code) keeps the same promise.
    // Marked .ready as PostgreSQL marks what it waits to archive (its archiver may run it too: same answer).
    const ready = join(env.pg.pgdata, 'pg_wal', 'archive_status', `${segment}.ready`);
    writeFileSync(ready, '');
    const warm = await archiveOnce({ warm_path: 'on', debug: 'on' }).finally(() => rmSync(ready, { force: true }));
    assert.equal(warm.code, 0, warm.out);
    assert.deepEqual(warm.queued, [segment], 'cmd_queue queued it too');
    assert.match(warm.out, new RegExp(`${segment}: proof marker written`), 'cmd_queue shipped it (its log): queued there, proved');
    oneAlert(warm.alerts, 'slave_write_failed', /fsync of directory .* failed: permission denied/);

    const off = await archiveOnce({ remote_dir_fsync: 'off' });
    assert.equal(off.code, 0, off.out);
    assert.deepEqual(off.queued, [], 'delivered');
    assert.deepEqual(off.alerts, []);
    assert.match(off.out, new RegExp(`WARNING: remote_dir_fsync is off for slave ${s.name}: ${dir} is not fsynced`));
    chmodSync(dir, 0o700);
    assert.equal(sha256File(join(dir, segment)), sha256File(join(env.pg.pgdata, 'pg_wal', segment)));
    assert.ok(existsSync(join(dir, segment)));
  });
});

test('a cause that changes during an outage is alerted once; the same cause again is not', async () => {
  const dir = join(env.dir, 'slave-ro2');
  mkdirSync(dir, { mode: 0o500 });
  await withRdir(dir, async () => {
    await s.sshd.stop();
    let first;
    try {
      first = await archiveOnce();
    } finally {
      await s.sshd.start();
    }
    oneAlert(first.alerts, 'slave_unreachable', /refused/);
    // Same l_archivedir: the outage goes on, now the slave is back but cannot store the file.
    const changed = await archiveOnce({}, first.queue);
    assert.equal(changed.code, 0, changed.out);
    assert.deepEqual(changed.queued, [segment]);
    oneAlert(changed.alerts, 'slave_write_failed', /\(permission denied\): .*\(the cause changed during the outage\)$/);
    const same = await archiveOnce({}, first.queue);
    assert.deepEqual(same.alerts, [], 'same outage, same cause: no new alert');
    chmodSync(dir, 0o700);
    const back = await archiveOnce({}, first.queue);
    assert.deepEqual(back.queued, []);
    assert.deepEqual(
      back.alerts.map((a) => `${a.level}:${a.event}`),
      ['OK:slave_recovered'],
    );
    assert.equal(sha256File(join(dir, segment)), sha256File(join(env.pg.pgdata, 'pg_wal', segment)));
  });
});

// pitr-test: once
/**
 * Directories we write in must be ours (issue 10, class 3), against a real PostgreSQL and a real
 * sshd slave, as the unprivileged test user: an l_archivedir others can write to, one another user
 * owns (root's shared /var/tmp/pitrtools-root-owned, made by scripts/setup.sh), or a queue others
 * can write to makes `cmd_archiver -F` (slow path and sh front end) exit 2 with the fix, writing
 * nothing and starting nothing; cmd_queue (foreground, --daemon, --once) and --reset-slave refuse
 * it too. A link planted as cmd_queue.log is never appended to: cmd_queue refuses it, and -F
 * still archives and says why no cmd_queue was started.
 * Runs on one PostgreSQL major (pitr-test: once): what it proves is in the SSH and queue
 * layers, the same whatever the server's version.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CMD_QUEUE, FRONT_END, fileTree, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

/** Made by scripts/setup.sh as root: root:root 1777, like /tmp. */
const ROOT_OWNED = '/var/tmp/pitrtools-root-owned';

after(cleanupAll);
let env: ArchiverEnv;
let seg: string;
before(async () => {
  env = await startArchiverEnv({ name: 'owned', slaves: 1 });
  // A file of our own in pg_wal under a WAL name far ahead of PostgreSQL's (-F checks names and
  // places, not contents): its bytes never change, so running -F on it twice never conflicts. The
  // segment PostgreSQL is writing did change between two runs (a running-xacts record every 15 s).
  seg = '00000001000000000000FFF0';
  writeFileSync(join(env.pg.pgdata, 'pg_wal', seg), randomBytes(1 << 20), { mode: 0o600 });
  writeFileSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${seg}.ready`), '', { mode: 0o600 });
});

const queueOf = (): string => join(env.lArchivedir, env.slaves[0]!.name);

/** Every way a run writes in l_archivedir, each expected to refuse with exit 2 and `msg`. */
async function assertAllRefuse(msg: RegExp, hint: RegExp): Promise<void> {
  const before = [fileTree(env.lArchivedir), fileTree(env.slaves[0]!.rdir)];
  const runs: Array<[string, string[], string | undefined]> = [
    ['-F (Node.js)', ['-C', env.ini, '-F', `pg_wal/${seg}`], undefined],
    ['-F (sh front end)', ['-C', env.ini, '-F', `pg_wal/${seg}`], FRONT_END],
    ['cmd_queue as cmd_archiver starts it', ['-C', env.ini, '--log-file', join(env.dir, 'queue.log')], CMD_QUEUE],
    ['cmd_queue --once', ['-C', env.ini, '--once'], CMD_QUEUE],
    ['cmd_queue --daemon', ['-C', env.ini, '--daemon'], CMD_QUEUE],
    ['--reset-slave', ['-C', env.ini, '--reset-slave', env.slaves[0]!.name], undefined],
  ];
  for (const [what, args, bin] of runs) {
    const r = await env.run(args, { cwd: env.pg.pgdata, ...(bin !== undefined ? { bin } : {}) });
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, msg, what);
    assert.match(r.stderr, hint, what);
  }
  assert.deepEqual([fileTree(env.lArchivedir), fileTree(env.slaves[0]!.rdir)], before, 'nothing written to the queues or the slave');
  assert.equal(env.daemonPid(), undefined, 'no cmd_queue started');
  assert.ok(!existsSync(join(env.dir, 'queue.log')) || !/cmd_queue started/.test(readFileSync(join(env.dir, 'queue.log'), 'utf8')));
}

describe('a directory others can write to', () => {
  test('l_archivedir 0777 or group-writable: every run refuses with exit 2 and chmod as the fix; 0700 archives', async () => {
    for (const mode of [0o777, 0o770]) {
      chmodSync(env.lArchivedir, mode);
      try {
        await assertAllRefuse(
          new RegExp(`ERROR: refusing to write in l_archivedir ${env.lArchivedir}: it is writable by others \\(.*mode 0${mode.toString(8)}\\)`),
          new RegExp(`HINT: chmod 0700 ${env.lArchivedir}\\n`),
        );
        // The read-only "Config OK" run says what -F would refuse.
        const v = await env.run(['-C', env.ini]);
        assert.match(
          v.stdout,
          new RegExp(`^WARNING: refusing to write in l_archivedir ${env.lArchivedir}: .*every archive_command call fails \\(exit 2\\)`, 'm'),
          v.stdout,
        );
      } finally {
        chmodSync(env.lArchivedir, 0o700);
      }
    }
    const ok = await env.run(['-C', env.ini, '-F', `pg_wal/${seg}`], { cwd: env.pg.pgdata });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(env.slaves[0]!.rdir, seg)), 'archived once the directory is ours alone');
  });

  test("a slave's queue directory others can write to: refused, naming that queue; a running cmd_queue stops", async () => {
    await waitFor('the cmd_queue the -F before started', async () => env.daemonPid(), 30_000);
    chmodSync(queueOf(), 0o777);
    try {
      await waitFor('cmd_queue to stop', async () => env.daemonPid() === undefined, 30_000);
      assert.match(readFileSync(join(env.lArchivedir, 'cmd_queue.log'), 'utf8'), /ERROR: refusing to write in the queue of slave .*; cmd_queue exits/);
      // Its marker proves that segment was shipped once, as it says; the front end may answer it.
      rmSync(join(env.lArchivedir, '.archived', seg), { force: true });
      await assertAllRefuse(
        new RegExp(`ERROR: refusing to write in the queue of slave ${env.slaves[0]!.name} ${queueOf()}: it is writable by others`),
        new RegExp(`HINT: chmod 0700 ${queueOf()}\\n`),
      );
    } finally {
      chmodSync(queueOf(), 0o700);
    }
  });
});

describe('a directory another user owns', () => {
  test(`l_archivedir ${ROOT_OWNED} (root, 1777, like /tmp): -F, -I and cmd_queue refuse it with chown as the fix`, async () => {
    const st = statSync(ROOT_OWNED, { throwIfNoEntry: false });
    assert.ok(
      st?.isDirectory() && st.uid === 0 && (st.mode & 0o1777) === 0o1777,
      `${ROOT_OWNED} must exist as root:root 1777: run scripts/setup.sh as root (npm test and CI do)`,
    );
    const mine = new Set(readdirSync(ROOT_OWNED));
    env.writeIni({ l_archivedir: ROOT_OWNED });
    try {
      for (const [args, bin] of [
        [['-C', env.ini, '-F', `pg_wal/${seg}`], undefined],
        [['-C', env.ini, '-I'], undefined],
        [['-C', env.ini, '--once'], CMD_QUEUE],
        [['-C', env.ini, '--log-file', join(env.dir, 'queue.log')], CMD_QUEUE],
      ] as const) {
        const r = await env.run([...args], { cwd: env.pg.pgdata, ...(bin !== undefined ? { bin } : {}) });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, new RegExp(`ERROR: refusing to write in l_archivedir ${ROOT_OWNED}: it belongs to uid 0 \\(mode 1777\\), not to this user`));
        assert.match(r.stderr, new RegExp(`HINT: as root: chown \\S+ ${ROOT_OWNED} && chmod 0700 ${ROOT_OWNED}`));
      }
      assert.deepEqual(
        readdirSync(ROOT_OWNED).filter((n) => !mine.has(n)),
        [],
        'nothing written there',
      );
    } finally {
      // Whatever a run of older code left there is ours to take away (the directory is sticky).
      for (const n of readdirSync(ROOT_OWNED))
        if (!mine.has(n) && lstatSync(join(ROOT_OWNED, n)).uid === process.getuid?.()) rmSync(join(ROOT_OWNED, n), { recursive: true, force: true });
      env.writeIni();
    }
  });
});

describe('a link planted as cmd_queue.log', () => {
  test('cmd_queue refuses it and the target is unchanged; -F archives and says why no cmd_queue runs', async () => {
    const target = join(env.dir, 'someone-elses-file');
    writeFileSync(target, 'precious\n');
    const log = join(env.lArchivedir, 'cmd_queue.log');
    rmSync(log, { force: true });
    symlinkSync(target, log);
    try {
      const q = await env.run(['-C', env.ini, '--log-file', log], { bin: CMD_QUEUE });
      assert.equal(q.code, 2, q.stderr);
      assert.match(q.stderr, new RegExp(`ERROR: ${log} is a symbolic link; refusing to follow it`));
      assert.match(q.stderr, new RegExp(`HINT: .*rm ${log}`));
      const f = await env.run(['-C', env.ini, '-F', `pg_wal/${seg}`], { cwd: env.pg.pgdata });
      assert.equal(f.code, 0, f.stderr);
      assert.match(f.stderr, new RegExp(`WARNING: cmd_queue not started: ${log} is a symbolic link`));
      assert.equal(env.daemonPid(), undefined);
      assert.equal(readFileSync(target, 'utf8'), 'precious\n', 'nothing appended to the target');
      assert.ok(lstatSync(log).isSymbolicLink(), 'the link is left for the operator to see');
    } finally {
      rmSync(log, { force: true });
    }
  });
});

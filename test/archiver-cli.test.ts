// pitr-test: ends
/**
 * cmd_archiver's other commands against a real PostgreSQL and real sshd slaves: -I (fresh,
 * non-empty, unwritable, and its warnings), "Config OK" with one slave down, an unknown host key,
 * -n, --install-helpers, --help and usage errors.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CMD_QUEUE, FRONT_END, fileTree, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

after(cleanupAll);
let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'cli', slaves: 2, init: false });
});

describe('-I', () => {
  test('creates l_archivedir and one queue per slave, 0700; reads the settings from the running server; prints archive_command', async () => {
    const r = await env.run(['-C', env.ini, '-I']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(env.lArchivedir).mode & 0o777, 0o700);
    for (const s of env.slaves) assert.equal(statSync(join(env.lArchivedir, s.name)).mode & 0o777, 0o700);
    assert.match(r.stdout, /^INFO: archiving settings from the running server: archive_mode = 'on'/m);
    assert.doesNotMatch(r.stdout, /WARNING/);
    const line = r.stdout
      .split('\n')
      .find((l) => l.trim().startsWith('archive_command = '))!
      .trim();
    assert.equal(line, `archive_command = '${FRONT_END} -C ${env.ini} -F %p'`);
  });

  test('run again after a slave was added: its queue is created, the others kept, the line printed again', async () => {
    const text = readFileSync(env.ini, 'utf8');
    writeFileSync(env.ini, text.replace(/^slaves: (.*)$/m, 'slaves: $1, 127.0.0.1:1'));
    try {
      const again = await env.run(['-C', env.ini, '-I']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^INFO: using ${env.lArchivedir}, set up by an earlier -I$`, 'm'));
      // The queue's name and the section's, side by side: the logs use the first.
      for (const sl of env.slaves)
        assert.match(
          again.stdout,
          new RegExp(`^INFO: kept the queue ${join(env.lArchivedir, sl.name)} of slave ${sl.name} \\(\\[${sl.entry}\\] in the ini\\)$`, 'm'),
        );
      assert.match(
        again.stdout,
        new RegExp(
          `^INFO: created the queue ${join(env.lArchivedir, '127.0.0.1_1')} for slave 127\\.0\\.0\\.1_1 \\(\\[127\\.0\\.0\\.1:1\\] in the ini\\)$`,
          'm',
        ),
      );
      assert.equal(statSync(join(env.lArchivedir, '127.0.0.1_1')).mode & 0o777, 0o700);
      assert.match(again.stdout, /^\s*archive_command = '/m);
    } finally {
      writeFileSync(env.ini, text);
      rmdirSync(join(env.lArchivedir, '127.0.0.1_1'));
    }
  });

  test('refuses a non-empty l_archivedir that holds no queue of ours, and an unwritable one', async () => {
    const foreign = join(env.dir, 'foreign');
    mkdirSync(foreign, { mode: 0o700 });
    writeFileSync(join(foreign, 'somebody.txt'), 'x');
    writeFileSync(join(env.dir, 'foreign.ini'), readFileSync(env.ini, 'utf8').replace(/^l_archivedir: .*$/m, `l_archivedir: ${foreign}`));
    const other = await env.run(['-C', join(env.dir, 'foreign.ini'), '-I']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /cmd_archiver: ERROR: l_archivedir .*foreign is not empty and holds no queue of the slaves in .*foreign\.ini \(somebody\.txt\)/);
    const ro = join(env.dir, 'readonly');
    mkdirSync(ro, { mode: 0o500 });
    writeFileSync(join(env.dir, 'ro.ini'), readFileSync(env.ini, 'utf8').replace(/^l_archivedir: .*$/m, `l_archivedir: ${ro}`));
    const r = await env.run(['-C', join(env.dir, 'ro.ini'), '-I']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not writable by this user/);
    chmodSync(ro, 0o700);
  });

  test('warns, from the files, when archive_mode is off or archive_library is set; refuses a pgdata that is no data directory', async () => {
    const fake = join(env.dir, 'fakedata');
    mkdirSync(join(fake, 'global'), { recursive: true });
    mkdirSync(join(fake, 'pg_wal'));
    writeFileSync(join(fake, 'PG_VERSION'), '15\n');
    writeFileSync(join(fake, 'global', 'pg_control'), '');
    writeFileSync(join(fake, 'postgresql.conf'), "archive_mode = on\ninclude_if_exists 'local.conf'\n");
    writeFileSync(join(fake, 'local.conf'), 'archive_mode = off\n');
    writeFileSync(join(fake, 'postgresql.auto.conf'), "archive_library = 'basic_archive'\n");
    const ini = join(env.dir, 'fake.ini');
    mkdirSync(join(env.dir, 'q2'), { mode: 0o755 }); // an existing empty directory is fine (and made 0700)
    const text = readFileSync(env.ini, 'utf8')
      .replace(/^pgdata: .*$/m, `pgdata: ${fake}`)
      .replace(/^l_archivedir: .*$/m, `l_archivedir: ${join(env.dir, 'q2')}`);
    writeFileSync(ini, text);
    const r = await env.run(['-C', ini, '-I']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^WARNING: archive_mode is off \(.*postgresql\.conf and .*postgresql\.auto\.conf\): PostgreSQL archives nothing$/m);
    assert.match(r.stdout, /^HINT: set archive_mode = on/m);
    assert.match(r.stdout, /^WARNING: archive_library is set to 'basic_archive'/m);
    assert.match(r.stdout, /^INFO: using the empty directory .*q2$/m);
    assert.equal(statSync(join(env.dir, 'q2')).mode & 0o777, 0o700);
    writeFileSync(ini, text.replace(/^pgdata: .*$/m, `pgdata: ${env.dir}`));
    const bad = await env.run(['-C', ini, '-I']);
    assert.equal(bad.code, 2, 'a configuration error, as for -F');
    assert.match(bad.stderr, /is not a PostgreSQL data directory/);
  });
});

describe('no -F: Config OK and reachability', () => {
  test('one slave reachable, one down: exit 0, the down one is a warning', async () => {
    const down = env.slaves[1]!;
    await down.sshd.stop();
    try {
      const r = await env.run(['-C', env.ini]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.equal(lines[0], `Config OK: ${env.ini}`);
      assert.match(
        r.stdout,
        new RegExp(
          `^INFO: slave ${env.slaves[0]!.name} \\(\\[${env.slaves[0]!.entry}\\] in the ini, .*\\): reachable; r_archivedir ${env.slaves[0]!.rdir} is there and writable$`,
          'm',
        ),
      );
      assert.match(
        r.stdout,
        new RegExp(
          `^WARNING: slave ${down.name} \\(.*\\): unreachable: connection to 127\\.0\\.0\\.1:${down.sshd.port} refused.*segments would be queued for it$`,
          'm',
        ),
      );
      assert.match(r.stdout, /^INFO: cmd_queue is not running/m);
    } finally {
      await down.sshd.start();
    }
  });

  test('a named ssh_identity that is not there: exit 2 naming it, and no "Config OK" before the error', async () => {
    const ini = join(env.dir, 'missing-key.ini');
    const text = readFileSync(env.ini, 'utf8');
    assert.match(text, /^ssh_identity: /m);
    writeFileSync(ini, text.replace(/^ssh_identity: .*$/m, 'ssh_identity: /nonexistent/id_ed25519'));
    const r = await env.run(['-C', ini]);
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stdout, /Config OK/);
    assert.match(r.stderr, /missing-key\.ini:\d+: key 'ssh_identity': key file \/nonexistent\/id_ed25519 does not exist/);
  });

  test('an r_archivedir that exists but refuses our writes is a warning with the fix, and the probe leaves nothing there', async () => {
    const s = env.slaves[0]!;
    const before = fileTree(s.rdir);
    chmodSync(s.rdir, 0o500);
    try {
      const r = await env.run(['-C', env.ini]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`^WARNING: slave ${s.name} \\(.*\\): reachable; r_archivedir ${s.rdir} is there but \\S+ cannot write in it: .*permission denied`, 'mi'),
      );
      assert.match(r.stdout, new RegExp(`^HINT: on the slave, give \\S+ the directory: chown \\S+ ${s.rdir}; chmod 0700 ${s.rdir}$`, 'm'));
    } finally {
      chmodSync(s.rdir, 0o700);
    }
    // Writable, but not ours alone: every upload would refuse it; -C says so before the first segment.
    chmodSync(s.rdir, 0o777);
    try {
      const r = await env.run(['-C', env.ini]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(
          `^WARNING: slave ${s.name} \\(.*\\): reachable; r_archivedir ${s.rdir} is not ours alone: it is writable by others \\(its group and every user; mode 0777\\); every segment would be refused there$`,
          'm',
        ),
      );
      assert.match(r.stdout, new RegExp(`^HINT: on the slave, chmod 0700 ${s.rdir}$`, 'm'));
    } finally {
      chmodSync(s.rdir, 0o700);
    }
    const ok = await env.run(['-C', env.ini]);
    assert.match(ok.stdout, new RegExp(`^INFO: slave ${s.name} .*r_archivedir ${s.rdir} is there and writable$`, 'm'));
    assert.deepEqual(fileTree(s.rdir), before, 'the write probe left a file behind');
  });

  test('an unknown host key: refused, and the message says how to trust it (validate and archiving alike)', async () => {
    const s = env.slaves[0]!;
    // A complete segment, archived by PostgreSQL first (never the one being written).
    const seg = await env.pg.scalar<string>('SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
    await env.pg.query('SELECT pg_switch_wal()');
    await waitFor('archived by PostgreSQL', async () => (await env.stats()).last === seg);
    const saved = s.knownHostsFile;
    s.knownHostsFile = join(env.dir, 'empty_known_hosts');
    writeFileSync(s.knownHostsFile, '');
    env.writeIni({ warm_path: 'off' });
    try {
      const r = await env.run(['-C', env.ini]);
      assert.equal(r.code, 0);
      assert.match(
        r.stdout,
        new RegExp(
          `^WARNING: slave ${s.name} .*unreachable: host \\[127\\.0\\.0\\.1\\]:${s.sshd.port} is not in ${s.knownHostsFile}; it offered ssh-ed25519 SHA256:`,
          'm',
        ),
      );
      assert.match(
        r.stdout,
        new RegExp(`^HINT: .*ssh-keyscan -p ${s.sshd.port} 127\\.0\\.0\\.1 >> ${s.knownHostsFile}; or set ssh_host_key_check: accept-new$`, 'm'),
      );
      // Archiving queues it: nothing sent there, the alert names the host key and says how to trust it.
      const onSlave = fileTree(s.rdir);
      const a = await env.run(['-C', env.ini, '-F', `pg_wal/${seg}`]);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(fileTree(s.rdir), onSlave, 'nothing sent to the host whose key is unknown');
      assert.deepEqual(env.walFiles(join(env.lArchivedir, s.name)), [seg]);
      const alert = env.alerts().find((x) => x.event === 'slave_host_key_rejected' && x.slave === s.name)!;
      assert.match(alert.message, /is not in .*empty_known_hosts.*ssh-keyscan -p \d+ 127\.0\.0\.1 >>/);
      // It started cmd_queue to deliver the queue later; stop it so the next tests see the queue as it is.
      const pid = await waitFor('cmd_queue started for the queue', async () => env.daemonPid());
      process.kill(pid, 'SIGTERM');
      await waitFor('cmd_queue gone', async () => env.daemonPid() === undefined);
    } finally {
      s.knownHostsFile = saved;
      env.writeIni();
    }
  });
});

describe('-n, --install-helpers, --help, usage errors', () => {
  test('-n says what would go where and changes nothing', async () => {
    await env.run(['-C', env.ini, '--check']); // nothing to compare: --check is read-only too
    const seg = readdirSync(join(env.pg.pgdata, 'pg_wal'))
      .filter((n) => /^[0-9A-F]{24}$/.test(n))
      .sort()[0]!;
    const before = [fileTree(env.lArchivedir), ...env.slaves.map((s) => fileTree(s.rdir))];
    const alerts = env.alerts().length;
    const r = await env.run(['-C', env.ini, '-n', '-F', `pg_wal/${seg}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^would archive ${env.pg.pgdata}/pg_wal/${seg} \\(16\\.0 MiB\\) to 2 slaves$`, 'm'));
    assert.match(r.stdout, new RegExp(`slave ${env.slaves[0]!.name} .*: 1 queued segments \\(16\\.0 MiB\\) would go first`));
    assert.match(r.stdout, new RegExp(`slave ${env.slaves[1]!.name} .*: reachable; (would upload to|.* exists with the same size)`));
    assert.match(r.stdout, /dry run: nothing was written, uploaded or alerted/);
    assert.deepEqual([fileTree(env.lArchivedir), ...env.slaves.map((s) => fileTree(s.rdir))], before);
    assert.equal(env.alerts().length, alerts);
  });

  test('-F by hand on the segment PostgreSQL is writing: exit 1 (WAL_NOT_READY) with the reason and the fix; nothing written, sent or alerted (Node.js, -n and the sh front end)', async () => {
    // A record first: the insert position is then inside the segment being written (pg_walfile_name
    // names the segment before a boundary, XLByteToPrevSeg). A transactional message gets an xid, so
    // its commit is flushed (synchronous_commit = on): the segment's file exists when the statement
    // returns. A non-transactional one may sit in WAL buffers after a switch, and then the new
    // segment's file is not created yet (seen on PostgreSQL 16 in CI).
    await env.pg.query("SELECT pg_logical_emit_message(true, 'pitrtools-test', 'x')");
    const seg = await env.pg.scalar<string>('SELECT pg_walfile_name(pg_current_wal_flush_lsn())');
    assert.ok(existsSync(join(env.pg.pgdata, 'pg_wal', seg)), `${seg} in pg_wal`);
    const before = [fileTree(env.lArchivedir), ...env.slaves.map((s) => fileTree(s.rdir))];
    const alerts = env.alerts().length;
    for (const [args, bin] of [
      [['-F'], undefined],
      [['-n', '-F'], undefined],
      [['-F'], FRONT_END],
    ] as const) {
      const r = await env.run(['-C', env.ini, ...args, `pg_wal/${seg}`], { cwd: env.pg.pgdata, ...(bin ? { bin } : {}) });
      assert.equal(r.code, 1, `${args.join(' ')} ${bin ?? ''}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`ERROR: .*${seg} is not marked for archiving \\(no archive_status/${seg}\\.ready or \\.done\\)`));
      assert.match(r.stderr, /HINT: .*SELECT pg_switch_wal\(\)/);
    }
    assert.deepEqual([fileTree(env.lArchivedir), ...env.slaves.map((s) => fileTree(s.rdir))], before);
    assert.equal(env.alerts().length, alerts);
  });

  test('--install-helpers installs the SQL helpers through the socket in postmaster.pid', async () => {
    const r = await env.run(['-C', env.ini, '--install-helpers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed the pitrtools helper functions \(version \d+\) into database postgres/);
    assert.equal(Number(await env.pg.scalar('SELECT cmd_helpers_version()')) > 0, true);
  });

  test('--help lists every option, the exit codes and where the docs are', async () => {
    const r = await env.run(['--help']);
    assert.equal(r.code, 0);
    for (const o of [
      '--config',
      '--file',
      '--init',
      '--dry-run',
      '--check',
      '--json',
      '--warn-age',
      '--crit-age',
      '--reset-slave',
      '--install-helpers',
      '--verbose',
      '--version',
    ]) {
      assert.ok(r.stdout.includes(o), o);
    }
    assert.match(r.stdout, /Exit codes/);
    for (const c of ['0  archived', '1  failed', '2  usage', '3  state: offline', '4  a slave already holds']) assert.ok(r.stdout.includes(c), c);
    assert.match(r.stdout, /docs\/cmd_archiver\.md/);
    const q = await env.run(['--help'], { bin: CMD_QUEUE });
    assert.equal(q.code, 0);
    for (const o of ['--config', '--daemon', '--once', '--log-file']) assert.ok(q.stdout.includes(o), o);
  });

  test('usage and config errors: one line, exit 2; for --check: UNKNOWN, exit 3', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['-C', env.ini, '-F', 'x', '-I'], 2, /choose one action, not -F and -I/],
      [['-C', env.ini, '--json'], 2, /--json goes with --check/],
      [['-C', env.ini, '-n'], 2, /-n\/--dry-run goes with -F/],
      [['-C', join(env.dir, 'missing.ini'), '-F', 'pg_wal/000000010000000000000001'], 2, /missing\.ini/],
      [['-F', 'x'], 2, /-C/],
      [['-C', env.ini, '--bogus'], 2, /unknown option --bogus/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await env.run(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.match(r.stderr, /^cmd_archiver: ERROR: /);
    }
    for (const args of [
      ['-C', env.ini, '--check', '-w', 'soon'],
      ['-C', join(env.dir, 'missing.ini'), '--check'],
    ]) {
      const r = await env.run(args);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stdout, /^PITR_ARCHIVER UNKNOWN - /);
    }
    // With --json the UNKNOWN is JSON too, in the shape every check prints (core/nagios.ts).
    const j = await env.run(['-C', join(env.dir, 'missing.ini'), '--check', '--json']);
    assert.equal(j.code, 3, j.stdout + j.stderr);
    const o = JSON.parse(j.stdout) as { service: string; state: string; code: number; summary: string };
    assert.deepEqual([o.service, o.state, o.code], ['PITR_ARCHIVER', 'UNKNOWN', 3]);
    assert.match(o.summary, /missing\.ini/);
  });

  test('cmd_queue --once delivers what is queued and exits 0; --daemon starts one instance', async () => {
    const s = env.slaves[0]!;
    assert.ok(env.walFiles(join(env.lArchivedir, s.name)).length > 0, 'something queued by an earlier test');
    const r = await env.run(['-C', env.ini, '--once'], { bin: CMD_QUEUE });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${s.name}: 1 delivered, 0 still queued$`, 'm'));
    assert.deepEqual(env.walFiles(join(env.lArchivedir, s.name)), []);
    // A stale pid file (a live process that is no cmd_queue: the postmaster) does not stop it starting.
    const postmaster = readFileSync(join(env.pg.pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]!;
    writeFileSync(join(env.lArchivedir, '.cmd_queue.pid'), `${postmaster}\n`);
    const d1 = await env.run(['-C', env.ini, '--daemon'], { bin: CMD_QUEUE });
    assert.match(d1.stdout, /cmd_queue started in the background \(pid \d+\)/);
    const pid = await waitFor('cmd_queue up', async () => {
      const p = env.daemonPid();
      return p !== undefined && String(p) !== postmaster ? p : undefined;
    });
    const d2 = await env.run(['-C', env.ini, '--daemon'], { bin: CMD_QUEUE });
    assert.match(d2.stdout, new RegExp(`already running \\(pid ${pid}\\)`));
    process.kill(pid, 'SIGTERM');
    await waitFor('cmd_queue stopped cleanly', async () => env.daemonPid() === undefined);
    assert.match(readFileSync(join(env.lArchivedir, 'cmd_queue.log'), 'utf8'), /cmd_queue stopping/);
    assert.deepEqual(
      readdirSync(env.lArchivedir).filter((n) => n.startsWith('.cmd_queue')),
      [],
      'pid file removed',
    );
  });
});

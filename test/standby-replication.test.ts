// pitr-test: long
/**
 * cmd_standby end to end on a real master, a real standby cluster and a real sshd: -I, -B, -S,
 * archive replay, a tablespace outside pgdata (mapped to another local directory), a second -B
 * that transfers only what changed, -B failures (master down, sshd killed half way) that leave no
 * valid-looking copy, and -F999 (refused while the master runs; promotes when it is stopped, and
 * with --force while it runs).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectPg } from '../packages/core/src/pg/client.js';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { failover } from '../packages/standby/src/commands/failover.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { runAction } from '../packages/standby/src/commands/action.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { basebackupLines, failoverLines, initLines, standbyLines } from '../packages/standby/src/cli/results.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { ctxFor, runCmd, standbyEnv, standbyQuery, switchAndWaitArchived, waitOnStandby, writeIni, type StandbyEnv } from './rig/standby-env.js';

let env: StandbyEnv;
let tsMaster: string;
let tsLocal: string;
before(async () => {
  env = await standbyEnv({ masterConf: { autovacuum: 'off' } });
  tsMaster = join(env.dir, 'ts-master');
  tsLocal = join(env.dir, 'ts-standby');
  mkdirSync(tsMaster, { mode: 0o700 });
  const actionDone = join(env.dir, 'failover-happened');
  const action = join(env.dir, 'failover.sh');
  writeFileSync(action, `#!/bin/sh\necho "$PITR_EVENT" > '${actionDone}'\n`, { mode: 0o700 });
  // The master's tablespace path is taken on this machine, so the standby maps it elsewhere.
  writeIni(env, {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'),
    pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    tablespace_mapping: `${tsMaster}=${tsLocal}`,
    action_failover: action,
  });
  await env.master.query(`CREATE TABLESPACE ts1 LOCATION '${tsMaster}'`);
  await env.master.query('CREATE TABLE static_t (i int); INSERT INTO static_t SELECT generate_series(1, 1000)');
  await env.master.query('CREATE TABLE in_ts (i int) TABLESPACE ts1; INSERT INTO in_ts SELECT generate_series(1, 500)');
  await env.master.query('CREATE TABLE t (i int)');
  await env.master.query('CREATE UNLOGGED TABLE u AS SELECT generate_series(1, 1000) AS i');
  // SFTP mtimes have whole seconds: -B never trusts files modified within a second of its start.
  // Let initdb's files age past that, so the second -B has untouched files to skip.
  await waitFor(
    'initdb files to be 2 s old',
    async () => env.master.scalar<boolean>("SELECT clock_timestamp() > pg_postmaster_start_time() + interval '2 s'"),
    10_000,
  );
});
after(cleanupAll);

describe('-I, -B, -S and replay from the archive', () => {
  test('-I names the helper file and the command when the helpers are missing', async () => {
    const r = await runCmd(['-C', env.ini, '-I']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /helper functions .* are not installed/);
    assert.match(r.stderr, /--install-helpers/);
    assert.match(r.stderr, /sql\/cmd_standby\.sql/);
  });

  test('--install-helpers installs them through SSH; -I creates pgdata, the mapped tablespace dir and archivedir (0700)', async () => {
    const r = await runCmd(['-C', env.ini, '--install-helpers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Installed the pitrtools helper functions/);
    const ctx = ctxFor(env);
    const res = await initStandby(ctx);
    assert.equal(res.masterMajor, env.master.major);
    for (const d of [env.pgdata, tsLocal, env.archivedir]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
    const lines = initLines(res);
    assert.ok(lines.includes(`Standby is ready (master runs PostgreSQL ${env.master.major})`), lines.join('\n'));
    assert.deepEqual(
      res.dirs.map((d) => d.dir),
      [env.pgdata, tsLocal, env.archivedir],
    );
  });

  test('-B copies the master (tablespace mapped), backup_label last and byte for byte', async () => {
    const ctx = ctxFor(env);
    const r = await basebackup(ctx);
    assert.ok(r.copied > 100, `copied ${r.copied}`);
    assert.ok(existsSync(join(env.pgdata, 'global', 'pg_control')));
    assert.match(readFileSync(join(env.pgdata, 'backup_label'), 'utf8'), /^START WAL LOCATION: .*\nCHECKPOINT LOCATION: /);
    assert.ok(!existsSync(join(env.pgdata, 'pitrtools_basebackup.incomplete')));
    // Excluded: the master's postmaster.pid and WAL; kept: pg_wal/archive_status.
    assert.ok(!existsSync(join(env.pgdata, 'postmaster.pid')));
    assert.deepEqual(readdir(join(env.pgdata, 'pg_wal')), ['archive_status']);
    const oid = String(await env.master.scalar("SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'"));
    assert.equal(readlinkSync(join(env.pgdata, 'pg_tblspc', oid)), tsLocal);
    assert.match(readFileSync(join(env.pgdata, 'tablespace_map'), 'utf8'), new RegExp(`^${oid} ${tsLocal}$`, 'm'));
    assert.ok(
      readdir(tsLocal).some((n) => n.startsWith('PG_')),
      'tablespace contents copied',
    );
    // An unlogged table: only its init fork is copied, as pg_basebackup does.
    const u = String(await env.master.scalar("SELECT pg_relation_filepath('u')"));
    assert.ok(existsSync(join(env.master.pgdata, u)) && !existsSync(join(env.pgdata, u)), `${u} copied`);
    assert.ok(existsSync(join(env.pgdata, `${u}_init`)), `${u}_init missing`);
    assert.match(basebackupLines(r).join('\n'), /Base backup finished: copied \d+ files/);
  });

  test('-S starts a standby that replays a row committed afterwards, from the archive', async () => {
    const ctx = ctxFor(env);
    assert.deepEqual(standbyLines(await startStandby(ctx, { iniPath: env.ini })), ['Successfully entered standby mode']);
    assert.ok(existsSync(join(env.pgdata, 'standby.signal')));
    const settings = readFileSync(join(env.pgdata, 'pitrtools.conf'), 'utf8');
    assert.match(settings, /^restore_command = '.*--restore %f %p'$/m);
    assert.match(readFileSync(join(env.pgdata, 'postgresql.conf'), 'utf8'), /^include_if_exists 'pitrtools.conf'$/m);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
    await env.master.query('INSERT INTO t VALUES (42); INSERT INTO in_ts VALUES (-1)');
    await switchAndWaitArchived(env.master);
    await waitOnStandby(env, 'the row from the master', 'SELECT count(*)::int FROM t WHERE i = 42', 1);
    // The tablespace outside pgdata works on the standby.
    await waitOnStandby(env, 'the tablespace row', 'SELECT count(*)::int FROM in_ts', 501);
    const loc = await standbyQuery<{ l: string }>(env, "SELECT pg_tablespace_location(oid) AS l FROM pg_tablespace WHERE spcname = 'ts1'");
    assert.equal(loc[0]!.l, tsLocal);
  });

  test('--check on a warm standby measures the lag against the master and the newest restored segment', async () => {
    const r = await runCmd(['-C', env.ini, '--check', '--json']);
    const o = JSON.parse(r.stdout) as { state: string; lagSource: string; lagBytes: number; restoredSegment: string; restoredAge: number };
    assert.equal(o.lagSource, 'master', r.stdout);
    assert.equal(typeof o.lagBytes, 'number');
    assert.match(o.restoredSegment, /^[0-9A-F]{24}$/);
    assert.ok(o.restoredAge >= 0 && o.restoredAge < 300, r.stdout);
  });

  test('-F999 while the master runs is refused and leaves the standby in recovery', async () => {
    const r = await runCmd(['-C', env.ini, '-F999']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /split brain/);
    // With sshd down, the master's PostgreSQL is still asked directly.
    await env.sshd.stop();
    try {
      const d = await runCmd(['-C', env.ini, '-F999']);
      assert.equal(d.code, 1, d.stderr);
      assert.match(d.stderr, /SSH failed .* but PostgreSQL at 127\.0\.0\.1:\d+ answered directly.*split brain/);
    } finally {
      await env.sshd.start();
    }
    // action_failover is checked before anything is promoted.
    const badIni = join(env.dir, 'bad-action.ini');
    writeFileSync(join(env.dir, 'not-executable.sh'), '#!/bin/sh\n', { mode: 0o600 });
    writeFileSync(badIni, readFileSync(env.ini, 'utf8').replace(/^action_failover: .*$/m, `action_failover: ${join(env.dir, 'not-executable.sh')}`));
    const a = await runCmd(['-C', badIni, '-F999', '--force']);
    assert.equal(a.code, 1, a.stderr);
    assert.match(a.stderr, /action_failover .*not-executable\.sh is not an executable file; nothing was promoted/);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
  });
});

function readdir(d: string): string[] {
  return readdirSync(d).sort();
}

describe('a second -B over the copy', () => {
  test('transfers only what changed, reports it, and leaves unchanged files in place', async () => {
    const ctx = ctxFor(env);
    const stopped = await runAction(ctx, 'stop');
    assert.ok(stopped.action === 'stop' && stopped.wasRunning, JSON.stringify(stopped));
    await env.master.query('CREATE TABLE t2 AS SELECT generate_series(1, 5000) AS i');
    await env.master.query('CHECKPOINT');
    const newFile = String(await env.master.scalar("SELECT pg_relation_filepath('t2')"));
    // Files the first -B copied with the master's mtime (not "hot") and that the master has not touched since.
    const before = new Map<string, { ino: number; mtimeMs: number }>();
    for (const rel of walkFiles(env.pgdata)) {
      const local = statSync(join(env.pgdata, rel));
      const master = statIfExists(join(env.master.pgdata, rel));
      if (local.mtimeMs === 0 || !master || master.size !== local.size || Math.floor(master.mtimeMs / 1000) !== local.mtimeMs / 1000) continue;
      before.set(rel, { ino: local.ino, mtimeMs: local.mtimeMs });
    }
    assert.ok(before.size > 100, `only ${before.size} unchanged files`);
    const copied = new Set<string>();
    const r = await basebackup(ctx, {
      onFile: (job) => {
        if (job.local.startsWith(env.pgdata)) copied.add(job.local.slice(env.pgdata.length + 1));
      },
    });
    assert.ok(copied.has(newFile), `${newFile} (new table) was not transferred`);
    for (const [rel, b] of before) {
      assert.ok(!copied.has(rel), `${rel} was unchanged but transferred again`);
      const now = statSync(join(env.pgdata, rel));
      assert.equal(now.ino, b.ino, `${rel} was replaced`);
      assert.equal(now.mtimeMs, b.mtimeMs, `${rel} changed mtime`);
    }
    assert.ok(r.copied >= 1 && r.copied + r.vanished <= copied.size + 1, `copied ${r.copied}, seen ${copied.size}`);
    assert.ok(r.skipped >= before.size, `skipped ${r.skipped} < ${before.size}`);
    assert.ok(r.copied < r.skipped, `copied ${r.copied} not fewer than skipped ${r.skipped}`);
    const summary = basebackupLines(r)[0]!;
    assert.match(summary, new RegExp(`copied ${r.copied} files \\(.* of file data\\) .* skipped ${r.skipped} unchanged`));
  });
});

describe('-B --checksum', () => {
  test('finds a file whose content differs although size and mtime match, and copies only such files', async () => {
    const ctx = ctxFor(env);
    const rel = walkFiles(env.pgdata).find(
      (r) => r.startsWith('base/1/') && /^\d+$/.test(r.slice(7)) && statSync(join(env.pgdata, r)).size >= 8192 && statSync(join(env.pgdata, r)).mtimeMs !== 0,
    )!;
    assert.ok(rel, 'an unchanged relation file of template1');
    const path = join(env.pgdata, rel);
    const st = statSync(path);
    const bytes = readFileSync(path);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(path, bytes);
    utimesSync(path, st.atime, st.mtime);
    const quick = await basebackup(ctx, {
      onFile: (job) => {
        assert.notEqual(job.local, path, 'the quick check cannot see the change');
      },
    });
    assert.ok(!readFileSync(path).equals(readFileSync(join(env.master.pgdata, rel))), 'still different after a plain -B');
    const copied: string[] = [];
    const r = await basebackup(ctx, {
      checksum: true,
      onFile: (job) => {
        copied.push(job.local);
      },
    });
    assert.ok(readFileSync(path).equals(readFileSync(join(env.master.pgdata, rel))), '--checksum repaired it');
    assert.ok(r.skipped > quick.skipped / 2, `--checksum found ${r.skipped} files identical`);
    assert.ok(r.copied < r.skipped, `copied ${r.copied}, skipped ${r.skipped}`);
  });
});

describe('-B failures leave no copy that looks complete', () => {
  test('master PostgreSQL down: clear error, exit 1, the existing copy untouched', async () => {
    await env.master.stop();
    try {
      const r = await runCmd(['-C', env.ini, '-B']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^cmd_standby: ERROR: base backup failed: the master's PostgreSQL does not accept connections at 127\.0\.0\.1:\d+ .*Connection refused$/m,
      );
      assert.match(r.stderr, /nothing was changed/);
      assert.ok(existsSync(join(env.pgdata, 'global', 'pg_control')));
      assert.ok(!existsSync(join(env.pgdata, 'pitrtools_basebackup.incomplete')));
    } finally {
      await env.master.start();
    }
  });

  test('sshd down: clear error, exit 1', async () => {
    await env.sshd.stop();
    try {
      const r = await runCmd(['-C', env.ini, '-B']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^cmd_standby: ERROR: base backup failed: connection to 127\.0\.0\.1:\d+ refused: is sshd running/m);
    } finally {
      await env.sshd.start();
    }
  });

  test('sshd killed half way: marker left, no pg_control, no backup_label; -S refuses and names -B', async () => {
    const ctx = ctxFor(env);
    let killed = false;
    await assert.rejects(
      basebackup(ctx, {
        onFile: async () => {
          if (!killed) {
            killed = true;
            await env.sshd.kill();
          }
        },
      }),
      (e: Error & { code?: string }) => e.code === 'BASEBACKUP_FAILED' && /incomplete/.test((e as { hint?: string }).hint ?? ''),
    );
    await env.sshd.start();
    assert.ok(killed);
    assert.ok(existsSync(join(env.pgdata, 'pitrtools_basebackup.incomplete')));
    assert.ok(!existsSync(join(env.pgdata, 'global', 'pg_control')));
    assert.ok(!existsSync(join(env.pgdata, 'backup_label')));
    const r = await runCmd(['-C', env.ini, '-S']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /did not finish/);
    assert.match(r.stderr, /-B again/);
  });

  test("the master's PostgreSQL stopped half way: the lost backup session stops -B, marker left", async () => {
    const ctx = ctxFor(env);
    let stopped = false;
    try {
      await assert.rejects(
        basebackup(ctx, {
          onFile: async () => {
            if (!stopped) {
              stopped = true;
              await env.master.stop('immediate');
            }
          },
        }),
        (e: Error & { code?: string }) =>
          e.code === 'BASEBACKUP_FAILED' && /base backup failed: (lost the backup's database session on the master|.*Connection terminated)/.test(e.message),
      );
    } finally {
      await env.master.start();
    }
    assert.ok(stopped);
    assert.ok(existsSync(join(env.pgdata, 'pitrtools_basebackup.incomplete')));
    assert.ok(!existsSync(join(env.pgdata, 'backup_label')));
    assert.ok(!existsSync(join(env.pgdata, 'global', 'pg_control')));
  });

  test('-A stop_basebackup ends a backup session left on the master, and only that one', async () => {
    const stale = await connectPg({
      host: env.master.socketDir,
      port: env.master.port,
      user: env.master.user,
      database: 'postgres',
      applicationName: 'pitrtools basebackup',
    });
    const other = await connectPg({
      host: env.master.socketDir,
      port: env.master.port,
      user: env.master.user,
      database: 'postgres',
      applicationName: 'bystander',
    });
    try {
      await stale.query("SELECT cmd_backup_start('left behind', true)");
      const s = await runCmd(['-C', env.ini, '-Astop_basebackup']);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /^Ended 1 base backup session on the master$/m);
      await waitFor(
        'the stale session to end',
        async () => await Promise.race([stale.lost.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]),
      );
      assert.equal(await other.scalar('SELECT 1'), 1, 'another session survived');
      const again = await runCmd(['-C', env.ini, '-Astop_basebackup']);
      assert.match(again.stdout, /No base backup session was left on the master/);
    } finally {
      await stale.end();
      await other.end();
    }
  });
});

describe('-F999 with the master stopped', () => {
  test('promotes the standby onto a new timeline, runs action_failover, clears the standby settings', async () => {
    const ctx = await runningStandbyWithRow(43);
    await env.master.stop();
    const res = await failover(ctx, { iniPath: env.ini });
    assert.ok(res.timeline >= 2, `timeline ${res.timeline}`);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
    await standbyQuery(env, 'INSERT INTO t VALUES (44)');
    const tli = await standbyQuery<{ f: string }>(env, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS f');
    assert.equal(parseInt(tli[0]!.f.slice(0, 8), 16), res.timeline);
    assert.equal(readFileSync(join(env.dir, 'failover-happened'), 'utf8'), 'failover\n');
    assert.doesNotMatch(readFileSync(join(env.pgdata, 'pitrtools.conf'), 'utf8'), /restore_command|primary_conninfo/);
    assert.ok(!existsSync(join(env.pgdata, 'standby.signal')));
    assert.ok(
      failoverLines(res).some((l) => /^Failover finished: read-write on timeline \d+/.test(l)),
      failoverLines(res).join('\n'),
    );
    await waitFor(
      'the checkpoint after promotion',
      async () => Number((await standbyQuery<{ t: number }>(env, 'SELECT timeline_id AS t FROM pg_control_checkpoint()'))[0]!.t) === res.timeline,
      30_000,
    );
  });
});

describe('-F999 --force with the master running', () => {
  test('promotes anyway, says so, and leaves the master as it was', async () => {
    // A fresh standby of the restarted master (the previous one was promoted).
    assert.equal((await runCmd(['-C', env.ini, '-A', 'stop'])).code, 0);
    rmSync(env.pgdata, { recursive: true, force: true });
    rmSync(tsLocal, { recursive: true, force: true });
    await env.master.start();
    const init = await runCmd(['-C', env.ini, '-I']);
    assert.equal(init.code, 0, init.stderr);
    await runningStandbyWithRow(45);
    rmSync(join(env.dir, 'failover-happened'), { force: true });

    const r = await runCmd(['-C', env.ini, '-F999', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--force: failing over although the master answers/);
    assert.match(r.stdout, /Failover finished: read-write on timeline \d+/);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
    assert.equal(readFileSync(join(env.dir, 'failover-happened'), 'utf8'), 'failover\n');
    // Two masters now, as asked for: the old one still runs and takes writes.
    assert.equal(await env.master.scalar<boolean>('SELECT pg_is_in_recovery()'), false);
    await env.master.query('INSERT INTO t VALUES (46)');
  });
});

/** -B and -S, then a row written on the master and waited for on the standby (the last before a failover). */
async function runningStandbyWithRow(i: number): Promise<ReturnType<typeof ctxFor>> {
  const ctx = ctxFor(env);
  await basebackup(ctx);
  await startStandby(ctx, { iniPath: env.ini });
  await env.master.query('INSERT INTO t VALUES ($1)', [i]);
  await switchAndWaitArchived(env.master);
  await waitOnStandby(env, `row ${i}, the last before the failover`, `SELECT count(*)::int FROM t WHERE i = ${i}`, 1);
  return ctx;
}

function walkFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walkFiles(root, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

function statIfExists(p: string): import('node:fs').Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

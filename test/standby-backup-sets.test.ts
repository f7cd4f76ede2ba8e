// pitr-test: ends
/**
 * The backup catalogue end to end (issue 13, parts 1, 3, 4): --backup adds sets to full_backup
 * from the real master over the real sshd; with keep_backups 2 the third set removes the first and
 * the archived WAL only it needed, and every segment the kept sets need stays. A backup that fails
 * half way (sshd killed) adds nothing and removes nothing. --list-backups (--json) shows each set.
 * Rows before and after T1 and T2: the older kept set restored into a new directory recovers to
 * T1, the newer to T2, each with exactly the right rows; -R on the newer one with T1 is refused
 * and names the older set. A --backup stopped by a signal says so and leaves no .partial; a set
 * whose WAL archivedir lacks is reported as not restorable and pushes out no set.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { backupSet, type BackupSetResult } from '../packages/standby/src/commands/backup-set.js';
import { runAction } from '../packages/standby/src/commands/action.js';
import { pointInTimeRecovery } from '../packages/standby/src/commands/pitr.js';
import { restoreBackup } from '../packages/standby/src/commands/restore-backup.js';
import { copyNeedsFrom } from '../packages/standby/src/catalogue/copy-floor.js';
import { lastOfRun, segmentNames } from '../packages/standby/src/catalogue/recoverable.js';
import { listSets, type BackupSetMeta } from '../packages/standby/src/catalogue/sets.js';
import { parseTargetTime, type TargetInput } from '../packages/standby/src/recovery/target-time.js';
import { cleanupAll } from './rig/cleanup.js';
import { ctxFor, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, switchAndWaitArchived, writeIni } from './rig/standby-env.js';

const CMD_STANDBY = new URL('../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;

let env: StandbyEnv;
let full: string;
let conf: Record<string, string>;
let tsMaster: string;
before(async () => {
  env = await standbyEnv({ archiver: 'cp' });
  full = join(env.dir, 'backups');
  tsMaster = join(env.dir, 'ts-master');
  mkdirSync(tsMaster, { mode: 0o700 });
  // The master's tablespace path is taken on this machine: each restore maps it elsewhere.
  conf = { pg_conf: join(env.dir, 'conf', 'postgresql.conf'), pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'), full_backup: full, keep_backups: '2' };
  writeIni(env, { ...conf, tablespace_mapping: `${tsMaster}=${join(env.dir, 'ts-newer')}` });
  await prepareMaster(env, `CREATE TABLESPACE ts1 LOCATION '${tsMaster}'`, 'CREATE TABLE t (what text) TABLESPACE ts1', 'CREATE TABLE filler (i int)');
});
after(cleanupAll);

const T_SQL = "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'";
let t1 = '';
let t2 = '';

function target(text: string): TargetInput {
  const t = parseTargetTime(text);
  if ('error' in t) throw new Error(t.error);
  return t;
}

/** Every segment from the set's start segment to its stop segment is in archivedir. */
function assertWalKept(s: BackupSetMeta): void {
  const last = lastOfRun(s, segmentNames(readdirSync(env.archivedir)));
  assert.ok(last !== undefined && last >= s.stop_wal, `archivedir holds ${s.start_wal}..${s.stop_wal} (run ends at ${last})`);
}

test('three backups with keep_backups 2: the first set and the WAL only it needed go after the third completes', async () => {
  const ctx = ctxFor(env);
  // The first through the binary, as cron would run it.
  const cli = await runCmd(['-C', env.ini, '--backup']);
  assert.equal(cli.code, 0, cli.stderr);
  const first = { meta: (await listSets(full))[0]! };
  assert.match(cli.stdout, new RegExp(`^Backup set ${first.meta.label} complete in ${full}: \\d+ files, .* from the master 127\\.0\\.0\\.1$`, 'm'));
  // The size --backup reports is the one --list-backups shows for the set, in the same binary units (it said "MB" once).
  const size = new RegExp(`complete in ${full}: \\d+ files, (\\d+\\.\\d [KMGT]iB), WAL`).exec(cli.stdout)?.[1];
  assert.ok(size !== undefined, cli.stdout);
  const listed = await runCmd(['-C', env.ini, '--list-backups']);
  assert.match(listed.stdout, new RegExp(`^${first.meta.label} .* ${size.replace('.', '\\.')}  `, 'm'));
  // Something to switch away from: PostgreSQL 18 does not switch a segment that holds nothing new.
  await env.master.query('INSERT INTO filler VALUES (1)');
  await switchAndWaitArchived(env.master);
  // The second with --json: one object on stdout, the result backupSet returns (what a script reads).
  const json = await runCmd(['-C', env.ini, '--backup', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stdout.trim().split('\n').length, 1, json.stdout);
  const second = JSON.parse(json.stdout) as BackupSetResult;
  assert.deepEqual(second.removedSets, []);
  assert.equal(second.dir, full);
  assert.deepEqual(
    (await listSets(full)).map((s) => s.label),
    [first.meta.label, second.meta.label],
  );
  assert.ok(first.meta.start_wal < second.meta.start_wal, `${first.meta.start_wal} < ${second.meta.start_wal}`);
  await env.master.query("INSERT INTO t VALUES ('before T1')");
  t1 = String(await env.master.scalar(T_SQL));
  await env.master.query("INSERT INTO t VALUES ('after T1')");
  await switchAndWaitArchived(env.master);
  const firstWal = readdirSync(env.archivedir).filter((n) => /^[0-9A-F]{24}$/.test(n) && n < second.meta.start_wal);
  assert.ok(firstWal.includes(first.meta.start_wal), "the first set's WAL is archived before the third backup");
  const third = await backupSet(ctx);
  assert.deepEqual(third.removedSets, [first.meta.label]);
  assert.ok(!existsSync(join(full, first.meta.label)), 'the oldest set is gone');
  assert.deepEqual(
    (await listSets(full)).map((s) => s.label),
    [second.meta.label, third.meta.label],
  );
  const left = readdirSync(env.archivedir);
  for (const n of firstWal) assert.ok(!left.includes(n), `${n} (needed only by the removed set) is gone`);
  assert.deepEqual(third.removedWal.filter((n) => /^[0-9A-F]{24}$/.test(n)).sort(), firstWal.sort());
  assert.ok(left.includes(second.meta.start_wal));
  assertWalKept(second.meta);
  assertWalKept(third.meta);
  assert.equal(readdirSync(full).filter((n) => n.startsWith('.')).length, 0, 'no temp directories left');
  await env.master.query("INSERT INTO t VALUES ('before T2')");
  t2 = String(await env.master.scalar(T_SQL));
  await env.master.query("INSERT INTO t VALUES ('after T2')");
  await switchAndWaitArchived(env.master);
});

test('--list-backups (--json): both sets from the master, not yet verified, recoverable from their stop time', async () => {
  const r = await runCmd(['-C', env.ini, '--list-backups', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  const sets = await listSets(full);
  assert.deepEqual(
    rows.map((x) => x.label),
    sets.map((s) => s.label),
  );
  for (const [i, row] of rows.entries()) {
    assert.equal(row.source, 'master');
    assert.equal(row.verified, null);
    assert.equal(row.wal_complete, true);
    assert.equal(row.recoverable_from, sets[i]!.stop_time);
    assert.ok(typeof row.recoverable_to === 'string' && row.recoverable_to >= (row.recoverable_from as string), `${row.recoverable_to}`);
    assert.ok(typeof row.bytes === 'number' && row.bytes > 1_000_000);
  }
  // The pg_control layout retention reads for the copy in pgdata, against this major's own answer.
  await env.master.query('CHECKPOINT');
  assert.equal(
    await copyNeedsFrom(env.master.pgdata, sets[0]!.wal_segment_size),
    String(await env.master.scalar('SELECT redo_wal_file FROM pg_control_checkpoint()')),
  );
  for (const [args, said] of [
    [['--list-backups', '--backup'], /choose one action, not --list-backups and --backup/],
    [['--into', '/tmp/x'], /--into goes with --restore-backup/],
  ] as const) {
    const u = await runCmd(['-C', env.ini, ...args]);
    assert.equal(u.code, 2, u.stderr);
    assert.match(u.stderr, said);
  }
  const text = await runCmd(['-C', env.ini, '--list-backups']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^${sets[0]!.label}  1 .* master  no `, 'm'));
});

test('a backup that fails half way (sshd killed) adds no set and removes neither a set nor any WAL', async () => {
  const before = { sets: readdirSync(full).sort(), wal: readdirSync(env.archivedir).sort() };
  let killed = false;
  try {
    await assert.rejects(
      backupSet(ctxFor(env), {
        onFile: async () => {
          if (!killed) {
            killed = true;
            await env.sshd.kill();
          }
        },
      }),
      (e: Error & { code?: string; hint?: string }) => e.code === 'BACKUP_FAILED' && /none was removed/.test(e.hint ?? ''),
    );
  } finally {
    await env.sshd.start();
  }
  assert.ok(killed);
  assert.deepEqual(readdirSync(full).sort(), before.sets, 'the catalogue is as it was (no .partial left)');
  assert.deepEqual(
    readdirSync(env.archivedir)
      .filter((n) => before.wal.includes(n))
      .sort(),
    before.wal,
    'no archived WAL removed',
  );
});

test('restore the older set into a new directory and recover to T1, the newer to T2: exactly the rows before each', async () => {
  const [older, newer] = await listSets(full);
  // The newer set into pgdata; T1 lies before it: refused, naming the older set.
  const ctx = ctxFor(env);
  await restoreBackup(ctx, { label: newer!.label });
  await assert.rejects(
    pointInTimeRecovery(ctx, { iniPath: env.ini, target: target(t1) }),
    (e: Error & { code?: string; hint?: string }) =>
      e.code === 'TARGET_BEFORE_COPY' &&
      e.message.includes(`the kept backup set ${older!.label}`) &&
      (e.hint ?? '').includes(`--restore-backup ${older!.label}`),
  );
  await pointInTimeRecovery(ctx, { iniPath: env.ini, target: target(t2) });
  assert.deepEqual(
    (await standbyQuery<{ what: string }>(env, 'SELECT what FROM t ORDER BY what')).map((r) => r.what),
    ['after T1', 'before T1', 'before T2'],
  );
  await runAction(ctx, 'stop');
  // The older set into a directory of its own (an ini whose pgdata is that directory), through the binary.
  const dir = join(env.dir, 'restored-older');
  const envOlder = { ...env, pgdata: dir, ini: join(env.dir, 'older.ini') };
  writeIni(envOlder, { ...conf, tablespace_mapping: `${tsMaster}=${join(env.dir, 'ts-older')}` });
  const r = await runCmd(['-C', envOlder.ini, '--restore-backup', older!.label, '--into', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Restored backup set ${older!.label} into ${dir}: `, 'm'));
  const pitr = await runCmd(['-C', envOlder.ini, '-F999', '-R', t1]);
  assert.equal(pitr.code, 0, pitr.stderr);
  assert.deepEqual(
    (await standbyQuery<{ what: string }>(envOlder, 'SELECT what FROM t ORDER BY what')).map((x) => x.what),
    ['before T1'],
  );
  // Each copy's tablespace where its tablespace_mapping put it, none in the master's location.
  const oid = String((await standbyQuery<{ oid: string }>(envOlder, "SELECT oid::text FROM pg_tablespace WHERE spcname = 'ts1'"))[0]!.oid);
  assert.equal(readlinkSync(join(dir, 'pg_tblspc', oid)), join(env.dir, 'ts-older'));
  assert.equal(readlinkSync(join(env.pgdata, 'pg_tblspc', oid)), join(env.dir, 'ts-newer'));
  assert.ok(existsSync(join(full, older!.label, 'data', 'pg_tblspc', oid)), 'the set keeps its tablespace inside');
  await runAction(ctxFor(envOlder), 'stop');
  // The sets themselves are untouched by restoring and recovering their copies.
  assert.deepEqual(
    (await listSets(full)).map((s) => s.label),
    [older!.label, newer!.label],
  );
  assert.ok(existsSync(join(full, older!.label, 'data', 'backup_label')));
});

test('--backup stopped by a real SIGINT or SIGTERM: exit 130 or 143, says so, its .partial directory is gone, the catalogue as it was', async () => {
  const before = readdirSync(full).sort();
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const child = spawn(process.execPath, [CMD_STANDBY, '-C', env.ini, '--backup'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.resume();
    const ended = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    try {
      // The .partial directory is made first and renamed only at the very end: signal while it is there.
      const deadline = Date.now() + 60_000;
      const partial = (): string[] => readdirSync(full).filter((n) => n.endsWith('.partial'));
      while (partial().length === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(partial().length, 1, `no .partial directory appeared: ${stderr}`);
      child.kill(sig);
      assert.equal(await ended, code, stderr);
    } finally {
      child.kill('SIGKILL');
    }
    assert.match(stderr, new RegExp(`--backup interrupted by ${sig}: its partial copy ${full}/\\.[0-9a-f]+\\.partial was removed`));
    assert.match(stderr, /HINT: no set was added to .* and none was removed; run --backup again/);
    assert.deepEqual(readdirSync(full).sort(), before, `${sig}: the catalogue is as it was (no .partial left)`);
  }
});

test('a set whose WAL archivedir lacks: a WARNING, "NOT restorable" in its line, and keep_backups removes no set that can be restored', async () => {
  const sets = (): string[] => readdirSync(full).filter((n) => !n.startsWith('.'));
  const before = sets().sort();
  assert.equal(before.length, 2, 'keep_backups 2 is full: a third set would remove the oldest');
  const empty = join(env.dir, 'archive-elsewhere');
  mkdirSync(empty, { mode: 0o700 });
  const ini = join(env.dir, 'no-wal.ini');
  writeIni({ ...env, ini }, { ...conf, archivedir: empty });
  const r = await runCmd(['-C', ini, '--backup']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`WARNING: ${empty} does not hold the WAL set \\S+ needs \\([0-9A-F]{24} to [0-9A-F]{24}\\): it cannot be restored until it does`),
  );
  assert.match(r.stdout, new RegExp(`^Backup set \\S+ copied, NOT restorable until archivedir holds its WAL, in ${full}: `, 'm'));
  const after = sets().sort();
  for (const label of before) assert.ok(after.includes(label), `set ${label} kept`);
  assert.equal(after.length, 3);
});

// pitr-test: once
/**
 * The commands PostgreSQL runs (restore_command = --restore %f %p, archive_cleanup_command =
 * --cleanup %r) and the command line itself, through the real binary. No server is needed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { segmentStartLsn } from '../packages/standby/src/recovery/wal-file-check.js';
import { cleanupAll } from './rig/cleanup.js';
import { runCmd } from './rig/standby-env.js';
import { makeTempDir } from './rig/tmp.js';

const tmp = makeTempDir('pitr-restore-');
after(async () => {
  await tmp.remove();
  await cleanupAll();
});
const archivedir = join(tmp.path, 'archive');
const pgdata = join(tmp.path, 'data');
mkdirSync(archivedir);
mkdirSync(join(pgdata, 'pg_wal'), { recursive: true });
const ini = join(tmp.path, 'cmd_standby.ini');
writeFileSync(ini, `[DEFAULT]\nmaster_public_ip: db1\nuser: postgres\npgdata: ${pgdata}\narchivedir: ${archivedir}\nrecovery_conf: /x/recovery.conf\n`);
const STANDBY_BIN = new URL('../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;
const restore = (f: string, p: string) => runCmd(['-C', ini, '--restore', f, p], { cwd: pgdata });

/** 16 MiB of random bytes behind the long page header PostgreSQL opens each segment with (this pgdata has no pg_control to compare the system identifier with). */
function fakeSegment(name: string): Buffer {
  const seg = randomBytes(16 * 1024 * 1024);
  seg.fill(0, 0, 40);
  seg.writeUInt16LE(0x0002, 2); // XLP_LONG_HEADER
  seg.writeBigUInt64LE(segmentStartLsn(name, seg.length), 8);
  seg.writeUInt32LE(seg.length, 32);
  return seg;
}

test('a missing file exits 1 with no output at all', async () => {
  for (const name of ['000000010000000000000009', '00000002.history']) {
    const r = await restore(name, 'pg_wal/RECOVERYXLOG');
    assert.deepEqual(r, { code: 1, stdout: '', stderr: '' });
  }
});

test('a .history file and a segment are restored byte for byte (relative %p, as PostgreSQL passes it)', async () => {
  writeFileSync(join(archivedir, '00000002.history'), '1\t0/3000000\tno recovery target specified\n');
  const h = await restore('00000002.history', 'pg_wal/RECOVERYHISTORY');
  assert.deepEqual(h, { code: 0, stdout: '', stderr: '' });
  assert.equal(readFileSync(join(pgdata, 'pg_wal', 'RECOVERYHISTORY'), 'utf8'), '1\t0/3000000\tno recovery target specified\n');
  const seg = fakeSegment('000000010000000000000003');
  writeFileSync(join(archivedir, '000000010000000000000003'), seg);
  const s = await restore('000000010000000000000003', 'pg_wal/RECOVERYXLOG');
  assert.equal(s.code, 0, s.stderr);
  assert.ok(readFileSync(join(pgdata, 'pg_wal', 'RECOVERYXLOG')).equals(seg));
  assert.equal(readFileSync(join(pgdata, 'pitrtools.restored'), 'utf8'), '000000010000000000000003\n');
  assert.deepEqual(
    readdirSync(join(pgdata, 'pg_wal')).filter((n) => n.startsWith('.')),
    [],
    'no temp file left',
  );
});

test('a truncated segment and a garbled .history are refused (exit 1, said, nothing written or recorded); the complete file is restored later', async () => {
  const name = '000000010000000000000004';
  const seg = fakeSegment(name);
  const before = readFileSync(join(pgdata, 'pitrtools.restored'), 'utf8');
  writeFileSync(join(archivedir, name), seg.subarray(0, 5 * 1024 * 1024));
  const t = await restore(name, 'pg_wal/RECOVERYXLOG4');
  assert.equal(t.code, 1);
  assert.match(t.stderr, /not restoring 000000010000000000000004 .*: it has 5242880 bytes where a segment of this cluster has 16777216/);
  assert.ok(!existsSync(join(pgdata, 'pg_wal', 'RECOVERYXLOG4')), 'nothing handed to PostgreSQL');
  assert.equal(readFileSync(join(pgdata, 'pitrtools.restored'), 'utf8'), before, '--check still names the last complete segment');
  writeFileSync(join(archivedir, '00000005.history'), 'this is not a history file\n');
  const h = await restore('00000005.history', 'pg_wal/RECOVERYHISTORY5');
  assert.equal(h.code, 1);
  assert.match(h.stderr, /not restoring 00000005.history .*: line 1 is not/);
  assert.ok(!existsSync(join(pgdata, 'pg_wal', 'RECOVERYHISTORY5')));
  writeFileSync(join(archivedir, name), seg);
  const ok = await restore(name, 'pg_wal/RECOVERYXLOG4');
  assert.deepEqual(ok, { code: 0, stdout: '', stderr: '' });
  assert.ok(readFileSync(join(pgdata, 'pg_wal', 'RECOVERYXLOG4')).equals(seg));
  assert.equal(readFileSync(join(pgdata, 'pitrtools.restored'), 'utf8'), `${name}\n`);
});

test('a hostile %f is refused (exit 2) and nothing is written', async () => {
  writeFileSync(join(tmp.path, 'secret'), 'x');
  for (const name of ['../secret', '000000010000000000000001; touch pwned', '', '00000001000000000000000G']) {
    const r = await restore(name, 'pg_wal/RECOVERYXLOG2');
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /refusing to restore/);
    assert.ok(!existsSync(join(pgdata, 'pg_wal', 'RECOVERYXLOG2')));
  }
});

test('a SIGTERM to the process group in the middle of a copy (PostgreSQL shutting down) leaves no temp file in pg_wal; the command ends by the signal', async () => {
  // A 256 MiB segment (its header says so; the rest is a hole): the copy and its fsync take long
  // enough to be caught in the act. The postmaster signals the process group of its children
  // (signal_child), so the command is started in a group of its own and the group is signalled.
  const name = '00000001000000000000000B';
  const segSize = 256 * 1024 * 1024;
  const head = Buffer.alloc(40);
  head.writeUInt16LE(0x0002, 2); // XLP_LONG_HEADER
  head.writeBigUInt64LE(segmentStartLsn(name, segSize), 8);
  head.writeUInt32LE(segSize, 32);
  const src = join(archivedir, name);
  writeFileSync(src, head);
  truncateSync(src, segSize);
  const wal = join(pgdata, 'pg_wal');
  const temps = (): string[] => readdirSync(wal).filter((n) => n.startsWith('.'));
  let caught = false;
  for (let attempt = 0; attempt < 5 && !caught; attempt++) {
    rmSync(join(wal, 'RECOVERYXLOGB'), { force: true });
    const child = spawn(process.execPath, [STANDBY_BIN, '-C', ini, '--restore', name, 'pg_wal/RECOVERYXLOGB'], {
      cwd: pgdata,
      detached: true,
      stdio: 'ignore',
    });
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, sig) => r([c, sig])));
    let done = false;
    void ended.then(() => (done = true));
    while (!done && temps().length === 0) await new Promise((r) => setTimeout(r, 1));
    if (!done) {
      caught = true;
      process.kill(-child.pid!, 'SIGTERM');
    }
    const [code, sig] = await ended;
    if (!caught) continue; // the copy was over before the first look: try again
    assert.equal(sig, 'SIGTERM', `ended by the signal (exit ${code})`);
    assert.deepEqual(temps(), [], 'no temp file left in pg_wal');
    assert.ok(!existsSync(join(wal, 'RECOVERYXLOGB')), 'nothing handed to PostgreSQL');
  }
  assert.ok(caught, 'the copy was caught with its temp file in pg_wal');
  rmSync(src);
});

test('the restore path loads neither yargs, ssh2 nor pg', async () => {
  const probe = join(tmp.path, 'probe.mjs');
  const out = join(tmp.path, 'loaded.txt');
  writeFileSync(out, '');
  const hook = `export async function resolve(s, c, n) { const r = await n(s, c); if (/\\/node_modules\\/(yargs|ssh2|pg)\\//.test(r.url)) (await import('node:fs')).appendFileSync(${JSON.stringify(out)}, r.url + '\\n'); return r; }`;
  writeFileSync(probe, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));\n`);
  const r = await runCmd(['-C', ini, '--restore', '00000002.history', 'pg_wal/X'], { cwd: pgdata, env: { NODE_OPTIONS: `--import ${probe}` } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), '');
  // The probe does see them when the full command line loads.
  await runCmd(['-C', ini, '-P'], { env: { NODE_OPTIONS: `--import ${probe}` } });
  assert.match(readFileSync(out, 'utf8'), /yargs/);
});

test('--cleanup %r removes older segments of every timeline (and their .partial/.backup), never .history', async () => {
  const names = [
    '000000010000000000000001',
    '000000010000000000000002',
    '000000010000000000000002.00000028.backup',
    '000000010000000000000003.partial',
    '000000020000000000000003',
    '000000020000000000000004',
    '000000020000000000000005',
    '00000001.history',
    '00000002.history',
    '.000000020000000000000006.tmp',
  ];
  for (const n of readdirSync(archivedir)) (await import('node:fs')).rmSync(join(archivedir, n));
  for (const n of names) writeFileSync(join(archivedir, n), n);
  const r = await runCmd(['-C', ini, '--cleanup', '000000020000000000000004'], { cwd: pgdata });
  assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  assert.deepEqual(readdirSync(archivedir).sort(), [
    '.000000020000000000000006.tmp',
    '00000001.history',
    '00000002.history',
    '000000020000000000000004',
    '000000020000000000000005',
  ]);
  const bad = await runCmd(['-C', ini, '--cleanup', '00000002.history']);
  assert.equal(bad.code, 2);
});

test('--help (generated by yargs) lists every option, the exit codes and the docs; --version answers', async () => {
  const r = await runCmd(['--help']);
  assert.equal(r.code, 0);
  for (const o of [
    '-C, --config',
    '-I, --dbinit',
    '-B, --basebackup',
    '--checksum',
    '-S, --standby',
    '-F, --failover',
    '-R, --recovertotime',
    '-P, --ping',
    '-A, --action',
    'start | stop | stop_basebackup | pause | resume',
    '--check',
    '--status',
    '--json',
    '--allow-primary',
    '--warn-bytes',
    '--critical-bytes',
    '--warn-seconds',
    '--critical-seconds',
    '--install-helpers',
    '--receive-wal',
    '--follow',
    '--master',
    '--master-port',
    '--rejoin',
    '--switchover',
    '--backup',
    '--list-backups',
    '--verify-backup',
    '--restore-backup',
    '--into',
    '--restore',
    'FILE PATH',
    '--cleanup',
    '--patroni-replica',
    '--force',
    '-v, --verbose',
    '-h, --help',
    '--version',
    '-F999',
    'Actions (one per run):',
    'Exit codes:',
    'docs/cmd_standby.md',
  ]) {
    assert.ok(r.stdout.includes(o), `--help lacks ${o}`);
  }
  const v = await runCmd(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('usage errors exit 2 in one line', async () => {
  for (const args of [['-C', ini, '-F998'], ['-C', ini, '-Abogus'], ['-C', ini, '-I', '-B'], ['-C', ini, '--frobnicate'], ['-C', ini, '--checksum'], ['-I']]) {
    const r = await runCmd(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^cmd_standby: ERROR: .+\ncmd_standby: HINT: .+\n$/, args.join(' '));
  }
  const cfg = await runCmd(['-C', join(tmp.path, 'nope.ini'), '-P']);
  assert.equal(cfg.code, 2);
  assert.equal(cfg.stderr.split('\n').filter((l) => l.includes('ERROR')).length, 1);
});

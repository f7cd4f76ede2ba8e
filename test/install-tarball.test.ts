// pitr-test: once (packing and installing do not depend on the PostgreSQL major; the round trip runs on 15)
/**
 * The README's install, for real: `npm run tarball` (scripts/pack.mjs) of this tree, then
 * `npm install -g` of the tarball into a temporary prefix (offline: everything the programs need
 * is bundled in the tarball, so CI downloads nothing beyond `npm ci`), then both programs run from
 * there. The installed copy is a copy (nothing in it resolves into the tree); the archive_command that
 * `cmd_archiver -I` prints and the restore_command `-S` writes name the command on PATH; and a
 * segment goes master -> slave through PostgreSQL's own archiver running that line, then comes
 * back through the installed `cmd_standby --restore`, byte for byte. The installed Markdown's relative
 * links all resolve inside the installed package, and the notify hook docs/monitoring.md names is there
 * and runs. Needs a tree built with
 * `tsc -b` (npm test builds first); the pack writes nothing in the tree.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { queueRunnerPid, sha256File } from './rig/archiver-env.js';
import { cleanupAll, onCleanup } from './rig/cleanup.js';
import { startPostgres, waitFor, type PgCluster } from './rig/postgres.js';
import { runProgram, type RunResult } from './rig/run.js';
import { startSshd, type SshdHandle } from './rig/sshd.js';
import { makeTempDir } from './rig/tmp.js';

process.env.PITR_PG_VERSION = '15';
const repo = realpathSync(new URL('..', import.meta.url).pathname);
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = makeTempDir('pitr-install-');
const prefix = join(tmp.path, 'prefix');
const bin = join(prefix, 'bin');
const pkgRoot = join(prefix, 'lib', 'node_modules', 'pitrtools');
const PATH = `${bin}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`;
let sshd: SshdHandle;
let pg: PgCluster;

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return runProgram([cmd, ...args], { ...o, cwd: o.cwd ?? tmp.path, env: { PATH, ...o.env } });
}
// npm as a user with no npm set-up: its cache and config in the test's directory.
const npm = (args: string[], timeoutMs = 300_000): Promise<RunResult> =>
  run('npm', [...args, '--cache', join(tmp.path, 'npm-cache'), '--no-audit', '--no-fund', '--no-update-notifier'], {
    timeoutMs,
    env: { npm_config_userconfig: join(tmp.path, 'npmrc'), HOME: tmp.path },
  });

before(async () => {
  onCleanup('install test dir', () => tmp.remove());
  sshd = await startSshd();
});
after(async () => {
  await cleanupAll();
});

test('npm run tarball gives one tarball with the built programs and their dependencies bundled; no build at install time', async () => {
  const packed = await run(process.execPath, [join(repo, 'scripts/pack.mjs'), tmp.path, '--json'], {
    timeoutMs: 120_000,
    env: { npm_config_userconfig: join(tmp.path, 'npmrc'), npm_config_cache: join(tmp.path, 'npm-cache'), HOME: tmp.path },
  });
  assert.equal(packed.code, 0, packed.stderr);
  const info = (JSON.parse(packed.stdout) as { filename: string; size: number; files: { path: string }[]; bundled: string[] }[])[0]!;
  const files = new Set(info.files.map((f) => f.path));
  for (const f of [
    'node_modules/@pitrtools/archiver/bin/cmd_archiver',
    'node_modules/@pitrtools/archiver/dist/bin/cmd_archiver.js',
    'node_modules/@pitrtools/standby/dist/main.js',
    'node_modules/@pitrtools/core/dist/index.js',
    'sql/cmd_standby.sql',
    'etc/cmd_archiver.ini.sample',
  ]) {
    assert.ok(files.has(f), `${f} is not in the tarball`);
  }
  const ours = [...files].filter((f) => !f.startsWith('node_modules/') || f.startsWith('node_modules/@pitrtools/'));
  assert.deepEqual(
    ours.filter((f) => /\/(src|test)\/|tsconfig|\.tsbuildinfo$/.test(f)),
    [],
    'our sources, tests or build files are shipped',
  );
  for (const dep of ['ssh2', 'pg', 'yargs', 'chalk']) assert.ok(info.bundled.includes(dep), `${dep} is not bundled`);
  // Nothing built at install time, nothing whose failing build would fail an offline install (pack.mjs says why):
  // the only native code is compress's two libraries, shipped built (N-API), without install scripts.
  assert.deepEqual([...files].filter((f) => f.startsWith('node_modules/cpu-features/') || f.endsWith('.node')).sort(), [
    'node_modules/@antoniomuso/lz4-napi-linux-x64-gnu/lz4-napi.linux-x64-gnu.node',
    'node_modules/zstd-napi/build/Release/binding.node',
  ]);
  for (const dep of ['zstd-napi', 'lz4-napi']) assert.ok(info.bundled.includes(dep), `${dep} is not bundled`);
  assert.deepEqual(
    [...files].filter((f) => /^node_modules\/(prebuild-install|node-addon-api|@types)\//.test(f)),
    [],
    "zstd-napi's build-time dependencies are shipped",
  );
  assert.ok(info.size < 4 * 1024 * 1024, `tarball of ${info.size} bytes`);

  const tgz = join(tmp.path, info.filename);
  assert.equal(info.filename, `pitrtools-${version}.tgz`);
  mkdirSync(prefix);
  const inst = await npm(['install', '-g', '--offline', '--prefix', prefix, tgz]);
  assert.equal(inst.code, 0, inst.stdout + inst.stderr);
  // No lifecycle script of ours runs at install (npm 11 warns about each one it meets: prepare was one).
  assert.doesNotMatch(inst.stderr, /pitrtools@[^ ]* \((prepare|install|postinstall)/);
  // A copy, not a link into the checkout: nothing under the installed package resolves into the tree.
  assert.ok(lstatSync(pkgRoot).isDirectory(), `${pkgRoot} is not a directory of its own`);
  for (const p of ['archiver', 'standby', 'core', 'cli']) {
    assert.ok(lstatSync(join(pkgRoot, 'node_modules', '@pitrtools', p)).isDirectory(), `@pitrtools/${p} is a link`);
  }
  for (const name of ['cmd_archiver', 'cmd_queue', 'cmd_standby']) {
    const target = realpathSync(join(bin, name));
    assert.ok(target.startsWith(`${pkgRoot}/`), `${name} -> ${target}`);
  }
});

test('every relative link in the installed Markdown resolves inside the installed package; the documented notify hook runs from there', async () => {
  // The installed docs are what a user on the host reads: a link to a file the tarball leaves out is dead there.
  const mds: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue;
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) mds.push(join(dir, e.name));
    }
  };
  walk(pkgRoot);
  assert.ok(mds.includes(join(pkgRoot, 'docs', 'monitoring.md')), `no docs/monitoring.md among ${mds.join(', ')}`);
  const dead: string[] = [];
  for (const md of mds) {
    // Links in code blocks are not links.
    const text = readFileSync(md, 'utf8').replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!) || target!.startsWith('#')) continue;
      const file = resolve(dirname(md), decodeURIComponent(target!.replace(/#.*$/, '')));
      if (!file.startsWith(`${pkgRoot}/`) || !existsSync(file)) dead.push(`${relative(pkgRoot, md)}: ${target}`);
    }
  }
  assert.deepEqual(dead, [], 'links that do not resolve in the installed package');
  // monitoring.md's ini lines name the hook under $(npm root -g)/pitrtools/: that file, executable, working.
  const monitoring = readFileSync(join(pkgRoot, 'docs', 'monitoring.md'), 'utf8');
  const named = [...monitoring.matchAll(/^notify_\w+:\s+(\S+)$/gm)].map((m) => m[1]!);
  assert.ok(named.length > 0, 'monitoring.md names no notify hook');
  const hook = join(pkgRoot, 'scripts', 'nagios-passive-hook.sh');
  for (const p of named) assert.equal(p.replace(/^\/usr\/local\/lib\/node_modules\/pitrtools\//, `${pkgRoot}/`), hook, `monitoring.md names ${p}`);
  const cmdFile = join(tmp.path, 'nagios.cmd');
  writeFileSync(cmdFile, '');
  const r = await run(hook, [], {
    env: { PITR_LEVEL: 'CRITICAL', PITR_EVENT: 'slave_unreachable', PITR_MESSAGE: 'down', PITR_HOST: 'db1', PITR_ROLE: 'archiver', NAGIOS_CMD: cmdFile },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(cmdFile, 'utf8'), /^\[\d+\] PROCESS_SERVICE_CHECK_RESULT;db1;pitrtools-archiver;2;PITR CRITICAL - slave_unreachable: down\n$/);
});

test('both programs run from the prefix: --version, and -I prints an archive_command naming the installed cmd_archiver', async () => {
  for (const name of ['cmd_archiver', 'cmd_standby']) {
    const r = await run(join(bin, name), ['--version'], { cwd: '/' });
    assert.deepEqual({ code: r.code, out: r.stdout.trim() }, { code: 0, out: version }, `${name} --version: ${r.stderr}`);
  }
  // The line -S writes into pitrtools.conf: the installed copy's own function, asked directly.
  const probe = `import(${JSON.stringify(join(pkgRoot, 'node_modules/@pitrtools/standby/dist/recovery/settings-files.js'))}).then((m) => console.log(JSON.stringify({ ...m.selfInvocation('/etc/x.ini'), tree: m.selfSourceTree() ?? null })))`;
  const self = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: '/' });
  assert.equal(self.code, 0, self.stderr);
  // tree: no checkout around the installed copy, so -S has nothing to warn about.
  assert.deepEqual(JSON.parse(self.stdout), { node: process.execPath, script: join(bin, 'cmd_standby'), ini: '/etc/x.ini', tree: null });
});

test('archive and restore through the installed copy: PostgreSQL runs the printed line, cmd_standby --restore brings the segment back', async () => {
  pg = await startPostgres({ name: 'install', parent: join(tmp.path, 'pg'), conf: { archive_mode: 'on', archive_command: "''", wal_keep_size: "'1GB'" } });
  // The installed cmd_archiver starts the installed cmd_queue by itself; it goes before PostgreSQL does.
  const queue = join(tmp.path, 'queue');
  onCleanup('installed cmd_queue', () => {
    const pid = queueRunnerPid(queue);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  });
  const rdir = join(tmp.path, 'slave', 'archive');
  mkdirSync(rdir, { recursive: true, mode: 0o700 });
  const ini = join(tmp.path, 'cmd_archiver.ini');
  writeFileSync(
    ini,
    [
      '[DEFAULT]',
      `pgdata: ${pg.pgdata}`,
      `l_archivedir: ${queue}`,
      'r_archivedir: /nonexistent',
      `slaves: ${sshd.host}:${sshd.port}`,
      'ssh_timeout: 10',
      'debug: on',
      '',
      `[${sshd.host}:${sshd.port}]`,
      `r_archivedir: ${rdir}`,
      `ssh_identity: ${sshd.clientKey}`,
      `ssh_known_hosts: ${sshd.knownHostsFile}`,
      // compress through the installed cmd_standby's receiver: the bundled zstd-napi loads on both ends.
      'compress: zstd',
      `slave_cmd_standby: ${join(bin, 'cmd_standby')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const init = await run(join(bin, 'cmd_archiver'), ['-C', ini, '-I']);
  assert.equal(init.code, 0, init.stdout + init.stderr);
  assert.doesNotMatch(init.stderr, /source checkout/);
  const line = /^\s*(archive_command = .*)$/m.exec(init.stdout)?.[1];
  assert.equal(line, `archive_command = '${join(bin, 'cmd_archiver')} -C ${ini} -F %p'`);
  assert.ok(!line.includes(`${repo}/`), 'the archive_command points into the checkout');
  // Exactly what the README says to do with it; PostgreSQL (and so its archiver) has PATH with node but not our bin.
  appendFileSync(join(pg.pgdata, 'postgresql.conf'), `\n${line}\n`);
  await pg.reload();
  await pg.query('CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
  const seg = await pg.scalar<string>('SELECT pg_walfile_name(pg_current_wal_lsn())');
  await pg.query('SELECT pg_switch_wal()');
  await waitFor(
    `${seg} archived by PostgreSQL`,
    async () => {
      const r = await pg.query<{ last_archived_wal: string | null; failed_count: string }>('SELECT last_archived_wal, failed_count FROM pg_stat_archiver');
      assert.equal(r[0]!.failed_count, '0', `archive_command failed; server log: ${pg.logFile}`);
      return r[0]!.last_archived_wal !== null && r[0]!.last_archived_wal >= seg;
    },
    90_000,
  );
  assert.equal(sha256File(join(rdir, seg)), sha256File(join(pg.pgdata, 'pg_wal', seg)));
  // It went through the receiver: the run that shipped it (cmd_queue, or the standalone run in PostgreSQL's log) said so.
  const logs = [join(queue, 'cmd_queue.log'), pg.logFile].map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).join('\n');
  assert.match(logs, /WAL stream 1 open \(compress: zstd, /);
  assert.doesNotMatch(logs, /shipping uncompressed over SFTP|COMPRESS_UNAVAILABLE/);

  // The standby side, from the same prefix: restore_command's --restore into a standby's pg_wal.
  const sdata = join(tmp.path, 'standby-data');
  mkdirSync(join(sdata, 'pg_wal'), { recursive: true, mode: 0o700 });
  const sini = join(tmp.path, 'cmd_standby.ini');
  writeFileSync(sini, `[DEFAULT]\nmaster_public_ip: 127.0.0.1\nuser: ${sshd.user}\npgdata: ${sdata}\narchivedir: ${rdir}\n`, { mode: 0o600 });
  const r = await run(join(bin, 'cmd_standby'), ['-C', sini, '--restore', seg, 'pg_wal/RECOVERYXLOG'], { cwd: sdata });
  assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: 0, stderr: '' });
  assert.equal(sha256File(join(sdata, 'pg_wal', 'RECOVERYXLOG')), sha256File(join(pg.pgdata, 'pg_wal', seg)));
  assert.deepEqual(readdirSync(join(sdata, 'pg_wal')), ['RECOVERYXLOG']);
});

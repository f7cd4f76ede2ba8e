// pitr-test: ends
/**
 * Hostile input does nothing: -F values that are not a WAL file in pg_wal (../, /etc/passwd,
 * $(...), ; and newlines in the name, a directory, a symlink out of pg_wal) write nothing anywhere,
 * start nothing and alert nobody; an alert message full of quotes, $(...) and a newline reaches the
 * hook as one plain argument. Root is refused.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertNotRoot } from '../packages/core/src/root-guard.js';
import { fileTree, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { switchWal } from './rig/postgres.js';

after(cleanupAll);
let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'hostile', slaves: 1 });
});

test('hostile -F values: refused with a clear message, nothing written anywhere, nothing run', async () => {
  const wal = join(env.pg.pgdata, 'pg_wal');
  const outside = join(env.dir, '000000090000000000000004');
  writeFileSync(outside, 'a WAL-looking file outside pg_wal');
  mkdirSync(join(wal, '000000090000000000000001'));
  symlinkSync('/etc/passwd', join(wal, '000000090000000000000002'));
  const cwd = join(env.dir, 'cwd');
  mkdirSync(cwd);
  const cases: Array<[string, number, RegExp]> = [
    ['../postgresql.conf', 2, /contains '\.\.'/],
    ['pg_wal/../../../../etc/passwd', 2, /contains '\.\.'/],
    ['/etc/passwd', 2, /"passwd" is not a WAL file name/],
    ['pg_wal/$(touch PWNED)', 2, /not a WAL file name/],
    ['pg_wal/`touch PWNED`', 2, /not a WAL file name/],
    ['pg_wal/000000010000000000000001;touch PWNED', 2, /not a WAL file name/],
    ["pg_wal/000000010000000000000001' && touch PWNED '", 2, /not a WAL file name/],
    ['pg_wal/000000010000000000000001\n[fake] LOG: forged line', 2, /\\n\[fake\] LOG: forged line/],
    ['pg_wal/000000090000000000000001', 2, /is a directory/],
    ['pg_wal/000000090000000000000002', 2, /symbolic link/],
    ['pg_wal/000000090000000000000003', 1, /does not exist/],
    [outside, 2, /is not in /],
    ['', 2, /./],
  ];
  const before = [fileTree(env.lArchivedir), fileTree(env.slaves[0]!.rdir)];
  for (const [file, code, msg] of cases) {
    const r = await env.run(['-C', env.ini, '-F', file], { cwd });
    assert.equal(r.code, code, `${JSON.stringify(file)}: ${r.stderr}`);
    assert.match(r.stderr, msg, JSON.stringify(file));
    assert.equal(r.stdout, '');
    const errorLines = r.stderr.split('\n').filter(Boolean);
    assert.ok(
      errorLines.every((l) => /^cmd_archiver: (ERROR|HINT): /.test(l)),
      `every stderr line is ours: ${r.stderr}`,
    );
  }
  assert.deepEqual([fileTree(env.lArchivedir), fileTree(env.slaves[0]!.rdir)], before, 'nothing written to the queues or the slave');
  assert.equal(env.daemonPid(), undefined, 'not even cmd_queue was started');
  assert.deepEqual(env.alerts(), []);
  for (const d of [cwd, env.pg.pgdata, wal, env.dir, process.cwd()]) assert.ok(!existsSync(join(d, 'PWNED')), `no PWNED in ${d}`);
  rmSync(join(wal, '000000090000000000000001'), { recursive: true });
  rmSync(join(wal, '000000090000000000000002'));
});

test('a hostile alert message reaches the hook as one argument, unexpanded', async () => {
  // The ini's path is part of the offline alert: give it quotes, $(...), backticks, ; and a newline.
  const weird = join(env.dir, `we'ird "dir" $(touch PWNED) \`touch PWNED\`; touch PWNED\nsecond line`);
  mkdirSync(weird);
  const ini = join(weird, 'cmd_archiver.ini');
  copyFileSync(env.ini, ini);
  writeFileSync(ini, `${readFileSync(ini, 'utf8').replace('[DEFAULT]\n', '[DEFAULT]\nstate: offline\n')}`);
  // A segment PostgreSQL finished (.ready, then .done), as archive_command is only ever given.
  const seg = await switchWal(env.pg);
  const r = await env.run(['-C', ini, '-F', `pg_wal/${seg}`], { cwd: env.dir });
  assert.equal(r.code, 3, r.stderr);
  const alerts = env.alerts();
  assert.equal(alerts.length, 1);
  const a = alerts[0]!;
  assert.equal(a.event, 'archiving_offline');
  assert.deepEqual(a.args, ['WARNING', a.message], 'the configured word, then the whole message as ONE argument');
  assert.ok(a.message.includes(ini), 'the message names the ini, byte for byte');
  assert.ok(a.message.includes('$(touch PWNED)') && a.message.includes('\n'));
  for (const d of [env.dir, weird, env.pg.pgdata, process.cwd()]) assert.ok(!existsSync(join(d, 'PWNED')), `no PWNED in ${d}`);
});

test('root is refused before anything else (exit 2)', () => {
  assert.throws(
    () => assertNotRoot('cmd_archiver', 0),
    (e: Error & { code?: string; exitCode?: number }) =>
      e.code === 'RUNNING_AS_ROOT' && e.exitCode === 2 && /cmd_archiver must not run as root/.test(e.message),
  );
  assert.doesNotThrow(() => assertNotRoot('cmd_archiver', 1001));
});

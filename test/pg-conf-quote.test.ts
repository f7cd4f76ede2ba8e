// pitr-test: ends
/**
 * Every value we write into a PostgreSQL configuration file reads back unchanged, asked from
 * PostgreSQL's own parser (`postgres -C NAME -D PGDATA` on a real initdb'd data directory):
 * confQuote for hostile strings, the whole pitrtools.conf (restore_command, archive_cleanup_command,
 * primary_conninfo), the include and hba_file lines of the no_copy_conf stub, and the
 * archive_command line `cmd_archiver -I` prints.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { confLine } from '../packages/core/src/pg/conf-value.js';
import { showSetting } from '../packages/core/src/pg/show-setting.js';
import { primaryConninfo, renderSettings, renderStubConf, settingsFor, withIncludeLine, SETTINGS_FILE } from '../packages/standby/src/recovery/render.js';
import { cleanupAll } from './rig/cleanup.js';
import { startPostgres, type PgCluster } from './rig/postgres.js';
import { makeTempDir } from './rig/tmp.js';

const CMD_ARCHIVER = new URL('../packages/archiver/bin/cmd_archiver.js', import.meta.url).pathname;

/** Values that broke or silently changed the old quoting, and their neighbours. */
const HOSTILE = [
  "it's",
  'back\\slash',
  'ends in a backslash\\',
  '\\\\server\\share',
  "\\'",
  "''",
  'a\\nb (not a newline)',
  '\\101 octal',
  'sp ace',
  '$HOME `id` $(id)',
  '100% %p %f %%',
  'ÄÖÜ 日本 ✓',
  '# not a comment',
  ' leading and trailing ',
  '',
];

let pg: PgCluster;
let conf: string;
let original: string;
const tmp = makeTempDir('pitr-confq-');
before(async () => {
  pg = await startPostgres({ name: 'confq', noStart: true });
  conf = join(pg.pgdata, 'postgresql.conf');
  original = readFileSync(conf, 'utf8');
});
after(async () => {
  await tmp.remove();
  await cleanupAll();
});

const show = (name: string): Promise<string> => showSetting(join(pg.bindir, 'postgres'), pg.pgdata, name);
const withConf = (extra: string): void => writeFileSync(conf, `${original}\n${extra}\n`);

test('confQuote: each hostile value reads back unchanged through postgres -C', async () => {
  for (const value of HOSTILE) {
    for (const key of ['restore_command', 'archive_cleanup_command']) {
      withConf(confLine(key, value));
      assert.equal(await show(key), value, `${key} = ${JSON.stringify(value)}`);
    }
  }
});

test('a line break or NUL is refused with an error naming the key', () => {
  for (const bad of ['a\nb', 'a\rb', 'a\0b']) {
    assert.throws(
      () => confLine('restore_command', bad),
      (e: Error & { code?: string }) => e.code === 'BAD_CONF_VALUE' && /restore_command/.test(e.message),
    );
  }
});

test('pitrtools.conf: restore_command, archive_cleanup_command and primary_conninfo from hostile paths read back as written', async () => {
  const self = { node: '/usr/bin/node', script: "/opt/it's \\ tools/cmd_standby.js", ini: "/etc/a'b\\c $x 100% ü/ends\\" };
  const streaming = {
    host: "db'1\\x",
    port: 5432,
    user: "re pl'\\",
    sslmode: 'prefer',
    applicationName: 'pitrtools_s1',
    passfile: "/d/it's\\/pitrtools.pgpass",
  };
  for (const mode of [
    { kind: 'standby' as const, self, streaming },
    { kind: 'pitr' as const, self, targetTime: '2026-05-28 11:00:38+02' },
  ]) {
    writeFileSync(join(pg.pgdata, SETTINGS_FILE), renderSettings(mode, 'now'));
    withConf(withIncludeLine(''));
    const want = settingsFor(mode);
    assert.ok(want.length >= 4);
    for (const [name, value] of want) assert.equal(await show(name), value, name);
  }
  assert.match(primaryConninfo(streaming), /host='db\\'1\\\\x'/);
});

test('restore_command, as PostgreSQL hands it to sh, passes every path as one argument', async () => {
  const self = { node: '/usr/bin/printf', script: '[%s]\\n', ini: "/etc/a'b\\c $x `id` 100% ü/ends\\" };
  writeFileSync(join(pg.pgdata, SETTINGS_FILE), renderSettings({ kind: 'standby', self }, 'now'));
  withConf(withIncludeLine(''));
  const cmd = (await show('restore_command')).replace(/%[fp%]/g, (m) => (m === '%f' ? 'F' : m === '%p' ? 'P' : '%'));
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  assert.equal(r.stdout, `[-C]\n[${self.ini}]\n[--restore]\n[F]\n[P]\n`);
});

test('no_copy_conf stub: include and hba_file with a quote and backslashes in the path', async () => {
  const dir = join(tmp.path, "conf it's \\ here\\");
  mkdirSync(dir);
  const pgConf = join(dir, 'postgresql.conf');
  const hba = join(dir, "pg_hba \\'.conf");
  writeFileSync(pgConf, "work_mem = '7MB'\n");
  writeFileSync(hba, 'local all all trust\n');
  writeFileSync(conf, renderStubConf(pgConf, hba, 'now'));
  assert.equal(await show('work_mem'), '7168'); // kB, as SHOW prints it
  assert.equal(await show('hba_file'), hba);
  writeFileSync(conf, original);
});

test('cmd_archiver -I prints an archive_command line that reads back as the command it means', async () => {
  const dir = join(tmp.path, "arch it's \\ dir\\");
  mkdirSync(dir);
  const ini = join(dir, 'cmd_archiver.ini');
  writeFileSync(ini, `[DEFAULT]\npgdata: ${pg.pgdata}\nl_archivedir: ${join(tmp.path, 'queue')}\nr_archivedir: /x\nslaves: 127.0.0.1\n`, { mode: 0o600 });
  writeFileSync(conf, original);
  const r = spawnSync(process.execPath, [CMD_ARCHIVER, '-C', ini, '-I'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const line = /^\s*(archive_command = .*)$/m.exec(r.stdout)?.[1];
  assert.ok(line, r.stdout);
  appendFileSync(conf, `\n${line}\n`);
  const cmd = await show('archive_command');
  const words = spawnSync('/bin/sh', ['-c', `printf '[%s]\\n' ${cmd.replace(/%p$/, 'P')}`], { encoding: 'utf8' }).stdout;
  assert.equal(words.split('\n').filter(Boolean).slice(1).join('\n'), `[-C]\n[${ini}]\n[-F]\n[P]`);
  writeFileSync(conf, original);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { confUnquote } from '@pitrtools/core/pg/conf-value';
import {
  commandArg,
  conninfoValue,
  passfileLine,
  primaryConninfo,
  renderSettings,
  renderStubConf,
  selfCommand,
  withIncludeLine,
} from '../src/recovery/render.js';

const self = { node: '/usr/bin/node', script: '/opt/pitr tools/bin/cmd_standby.js', ini: "/etc/it's 100%/cmd_standby.ini" };

test('restore_command: shell-quoted paths, % doubled, placeholders left for PostgreSQL', () => {
  assert.equal(commandArg("it's"), "'it'\\''s'");
  assert.equal(commandArg('100%'), "'100%%'");
  assert.equal(
    selfCommand(self, '--restore %f %p'),
    "'/usr/bin/node' '/opt/pitr tools/bin/cmd_standby.js' -C '/etc/it'\\''s 100%%/cmd_standby.ini' --restore %f %p",
  );
  assert.throws(() => commandArg('a\nb'));
});

test('the settings file for a standby, with and without streaming', () => {
  const warm = renderSettings({ kind: 'standby', self }, 'now');
  assert.match(warm, /^restore_command = '.*--restore %f %p'$/m);
  assert.match(warm, /^archive_cleanup_command = '.*--cleanup %r'$/m);
  assert.match(warm, /^recovery_target_timeline = 'latest'$/m);
  assert.match(warm, /^hot_standby = 'on'$/m);
  assert.doesNotMatch(warm, /primary_conninfo/);
  // The shell quote inside the conf string: ' becomes '' there.
  assert.ok(warm.includes("-C ''/etc/it''\\\\''''s 100%%/cmd_standby.ini''"), warm);
  const streaming = renderSettings(
    {
      kind: 'standby',
      self,
      streaming: { host: 'db 1', port: 5432, user: 'repl', sslmode: 'prefer', applicationName: 'pitrtools_s1', passfile: '/d/pitrtools.pgpass' },
    },
    'now',
  );
  assert.match(
    streaming,
    /^primary_conninfo = 'host=''db 1'' port=5432 user=repl sslmode=prefer application_name=pitrtools_s1 passfile=\/d\/pitrtools.pgpass'$/m,
  );
});

test('restore_command survives both quotings: PostgreSQL unquotes, substitutes, sh runs it', () => {
  const probe = { node: '/usr/bin/printf', script: '[%s]\\n', ini: "/etc/it's 100%/x $HOME `id` y.ini" };
  const line = /^restore_command = '(.*)'$/m.exec(renderSettings({ kind: 'standby', self: probe }, 'now'))![1]!;
  // What PostgreSQL does: undo the conf quoting, then replace %f, %p and %%.
  const cmd = confUnquote(`'${line}'`).replace(/%[fp%]/g, (m) => (m === '%f' ? 'F' : m === '%p' ? 'P' : '%'));
  const out = execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  assert.equal(out, `[-C]\n[${probe.ini}]\n[--restore]\n[F]\n[P]\n`);
});

test('the settings file for -R and after a promotion', () => {
  const pitr = renderSettings({ kind: 'pitr', self, targetTime: '2026-05-28 11:00:38+02' }, 'now');
  assert.match(pitr, /^recovery_target_time = '2026-05-28 11:00:38\+02'$/m);
  assert.match(pitr, /^recovery_target_action = 'promote'$/m);
  assert.doesNotMatch(pitr, /archive_cleanup_command/);
  const done = renderSettings({ kind: 'promoted', when: 'then' }, 'now');
  assert.doesNotMatch(done, /^[a-z_]+ =/m);
});

test('conninfo values and .pgpass fields are escaped as libpq reads them', () => {
  assert.equal(conninfoValue('simple.host'), 'simple.host');
  assert.equal(conninfoValue("it's a \\ path"), "'it\\'s a \\\\ path'");
  assert.equal(conninfoValue(''), "''");
  assert.equal(passfileLine('h', 5432, '*', 'u:x', 'p\\w:d'), 'h:5432:*:u\\:x:p\\\\w\\:d\n');
  assert.throws(() => passfileLine('h', 1, '*', 'u', 'a\nb'));
  assert.equal(
    primaryConninfo({ host: 'h', port: 1, user: 'u', sslmode: 'require', applicationName: 'a' }),
    'host=h port=1 user=u sslmode=require application_name=a',
  );
});

test('the include line is added once, at the end; the no_copy_conf stub points at the files', () => {
  const once = withIncludeLine('port = 5433');
  assert.match(once, /^port = 5433\n\n# Added by cmd_standby.*\ninclude_if_exists 'pitrtools.conf'\n$/);
  assert.equal(withIncludeLine(once), once);
  assert.notEqual(withIncludeLine("#include_if_exists 'pitrtools.conf'\n"), "#include_if_exists 'pitrtools.conf'\n");
  assert.equal(
    renderStubConf('/etc/pg/pg.conf', '/etc/pg/hba.conf', 'now').split('\n').slice(1).join('\n'),
    "include '/etc/pg/pg.conf'\nhba_file = '/etc/pg/hba.conf'\ninclude_if_exists 'pitrtools.conf'\n",
  );
});

test('use_replication_slots: primary_slot_name next to primary_conninfo, only with a slot', () => {
  const conn = { host: 'db1', port: 5432, user: 'repl', sslmode: 'prefer', applicationName: 'pitrtools_s1' };
  assert.match(renderSettings({ kind: 'standby', self, streaming: { ...conn, slotName: 'pitrtools_s1' } }, 'now'), /^primary_slot_name = 'pitrtools_s1'$/m);
  assert.doesNotMatch(renderSettings({ kind: 'standby', self, streaming: conn }, 'now'), /primary_slot_name/);
  assert.doesNotMatch(renderSettings({ kind: 'promoted', when: 'now' }, 'now'), /primary_slot_name|primary_conninfo/);
});

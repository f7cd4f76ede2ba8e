/** -I's reading of postgresql.conf (includes, last wins, quoting) and the warnings it gives. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settingsWarnings } from '../src/commands/init.js';
import { parseConfText, readConfSettings } from '@pitrtools/core/pg/conf-file';

describe('postgresql.conf reading', () => {
  it('parses name = value, name value, quotes and comments', () => {
    const e = parseConfText("archive_mode = on # yes\nARCHIVE_COMMAND 'cp ''%p'' /x # not a comment'\n#archive_library = 'x'\n  wal_level=replica\n", 'f');
    assert.deepEqual(
      e.map((x) => [x.name, x.value]),
      [
        ['archive_mode', 'on'],
        ['archive_command', "cp '%p' /x # not a comment"],
        ['wal_level', 'replica'],
      ],
    );
  });

  it('reads backslash escapes as the server does, and skips a line the server would refuse', () => {
    const e = parseConfText("archive_command = 'C:\\\\x \\'q\\' \\101'\narchive_mode = 'on\\'\n", 'f');
    assert.deepEqual(
      e.map((x) => [x.name, x.value]),
      [['archive_command', "C:\\x 'q' A"]],
    );
  });

  it('follows include, include_if_exists and include_dir; the last setting wins; auto.conf after postgresql.conf', async () => {
    const files: Record<string, string> = {
      '/d/postgresql.conf': "archive_mode = off\ninclude 'extra.conf'\ninclude_if_exists = 'missing.conf'\ninclude_dir 'conf.d'\n",
      '/d/extra.conf': 'archive_mode = on\narchive_library = basic_archive\n',
      '/d/conf.d/01.conf': "archive_library = ''\n",
      '/d/conf.d/02.conf': 'archive_mode = always\n',
      '/d/postgresql.auto.conf': "archive_command = 'x'\n",
    };
    const s = await readConfSettings(['/d/postgresql.conf', '/d/postgresql.auto.conf'], {
      read: async (p) => files[p],
      list: async (d) =>
        Object.keys(files)
          .filter((f) => f.startsWith(`${d}/`))
          .map((f) => f.slice(d.length + 1)),
    });
    assert.equal(s.get('archive_mode')?.value, 'always');
    assert.equal(s.get('archive_library')?.value, '');
    assert.equal(s.get('archive_command')?.value, 'x');
    await assert.rejects(
      readConfSettings(['/e'], { read: async (p) => (p === '/e' ? "include 'gone.conf'\n" : undefined), list: async () => [] }),
      /gone\.conf/,
    );
  });
});

describe('settingsWarnings', () => {
  it('archive_mode off and archive_library set are warnings with the fix', () => {
    const w = settingsWarnings({ source: 'the running server', archive_mode: 'off', archive_library: 'basic_archive', archive_command: '' });
    assert.deepEqual(
      w.map((l) => l.level),
      ['INFO', 'WARNING', 'WARNING'],
    );
    assert.equal(w[0]!.text, "archiving settings from the running server: archive_mode = 'off', archive_library = 'basic_archive', archive_command = ''");
    assert.match(w[1]!.text, /archive_mode is off \(the running server\)/);
    assert.match(w[1]!.hint!, /archive_mode = on/);
    assert.match(w[2]!.text, /archive_library is set to 'basic_archive'/);
  });
  it('a good set-up gives no warning; not knowing is a warning; an unset archive_mode in files means off', () => {
    assert.deepEqual(
      settingsWarnings({ source: 'files', archive_mode: 'on', archive_command: '/x/cmd_archiver -C a -F %p' }).map((l) => l.level),
      ['INFO'],
    );
    assert.equal(settingsWarnings({ source: 'unknown' })[0]!.level, 'WARNING');
    assert.match(settingsWarnings({ source: 'files' })[1]!.text, /archive_mode is off/);
  });
});

/** postgresql.conf values: confQuote's exact output, and the line parser that follows guc-file.l. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confLine, confQuote, confUnquote, parseConfLine } from '../src/pg/conf-value.js';

test('confQuote doubles the quote and the backslash (as ALTER SYSTEM writes them) and refuses line breaks naming the key', () => {
  assert.equal(confQuote("it's", 'k'), "'it''s'");
  assert.equal(confQuote('a\\b\\', 'k'), "'a\\\\b\\\\'");
  assert.equal(confQuote('', 'k'), "''");
  assert.equal(confLine('restore_command', "cp '%f'"), "restore_command = 'cp ''%f'''");
  for (const bad of ['a\nb', 'a\rb', 'a\0b']) {
    assert.throws(
      () => confQuote(bad, 'hba_file'),
      (e: Error & { code?: string; exitCode?: number }) => e.code === 'BAD_CONF_VALUE' && e.exitCode === 2 && /hba_file/.test(e.message),
    );
  }
});

test('confUnquote undoes confQuote, and reads the escapes the server reads', () => {
  for (const v of ["it's", 'a\\b\\', "\\'", "''", '\\n', 'ü ✓', '# x']) assert.equal(confUnquote(confQuote(v, 'k')), v);
  assert.equal(confUnquote("'a\\nb\\tc\\101\\q'"), 'a\nb\tcAq');
  assert.equal(confUnquote("'it\\'s'"), "it's");
});

test('parseConfLine: settings, comments, quoted # and what the server refuses', () => {
  assert.deepEqual(parseConfLine("Restore_Command = 'a # b' # comment"), { kind: 'setting', name: 'restore_command', value: 'a # b', quoted: true });
  assert.deepEqual(parseConfLine('hot_standby on'), { kind: 'setting', name: 'hot_standby', value: 'on', quoted: false });
  assert.deepEqual(parseConfLine("x.y='it''s'"), { kind: 'setting', name: 'x.y', value: "it's", quoted: true });
  assert.deepEqual(parseConfLine('   # recovery_target_time = 1'), { kind: 'empty' });
  assert.deepEqual(parseConfLine(''), { kind: 'empty' });
  // A string never continues on the next line: a trailing backslash escapes the closing quote.
  assert.equal(parseConfLine("restore_command = 'a\\'").kind, 'error');
  assert.equal(parseConfLine("a = 'b' c").kind, 'error');
  assert.equal(parseConfLine("a = 'b").kind, 'error');
});

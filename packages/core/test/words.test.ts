import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitWords } from '../src/words.js';

test('splits like a shell but expands nothing', () => {
  assert.deepEqual(splitWords('/usr/local/bin/alert.sh CRITICAL'), ['/usr/local/bin/alert.sh', 'CRITICAL']);
  assert.deepEqual(splitWords('echo \'a b\'  "c d" e\\ f'), ['echo', 'a b', 'c d', 'e f']);
  assert.deepEqual(splitWords('echo $HOME $(id) `id` ~ *'), ['echo', '$HOME', '$(id)', '`id`', '~', '*']);
  assert.deepEqual(splitWords('echo "say \\"hi\\" \\n"'), ['echo', 'say "hi" \\n']);
  assert.deepEqual(splitWords("echo ''"), ['echo', '']);
  assert.deepEqual(splitWords('  '), []);
});

test('refuses unbalanced quotes instead of guessing', () => {
  assert.throws(() => splitWords("echo 'oops"), /unterminated single quote/);
  assert.throws(() => splitWords('echo "oops'), /unterminated double quote/);
  assert.throws(() => splitWords('echo oops\\'), /trailing backslash/);
});

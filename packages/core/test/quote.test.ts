/**
 * Remote-shell quoting: exact output for the tricky cases, and a round trip through the
 * real shells on this machine with hostile and random arguments.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { shellJoin, shellQuote } from '../src/ssh/quote.js';

test('shellQuote wraps in single quotes and escapes single quotes only', () => {
  assert.equal(shellQuote('abc'), "'abc'");
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote("''"), "''\\'''\\'''");
  assert.equal(shellQuote('$(id) `id` "x" \\ \n;'), '\'$(id) `id` "x" \\ \n;\'');
});

test('NUL bytes and an empty argv are refused', () => {
  assert.throws(() => shellQuote('a\0b'), TypeError);
  assert.throws(() => shellJoin([]), TypeError);
});

test('shellJoin quotes every argument', () => {
  assert.equal(shellJoin(['ls', '-l', 'a b']), "'ls' '-l' 'a b'");
});

const shells = ['/bin/sh', '/bin/bash', '/bin/dash', '/usr/bin/zsh'].filter((s) => existsSync(s));
const ALPHABET = 'abc XYZ 019 \'"`$\\!*?[]{}()<>|&;#~%^=+,.:-_/\n\t€ü';
function randomArg(): string {
  let s = '';
  for (let i = randomInt(0, 12); i > 0; i--) s += ALPHABET[randomInt(0, ALPHABET.length)];
  return s;
}

for (const sh of shells) {
  test(`round trip through ${sh}: hostile and random arguments arrive unchanged`, () => {
    const args = ["it's", '$(echo pwned)', '`echo pwned`', '; echo pwned', 'a\nb', '', '*', '~', '$HOME', '!!', '\\', "'\\''"];
    for (let i = 0; i < 200; i++) args.push(randomArg());
    // printf '%s\0' keeps each argument intact, newlines included.
    const r = spawnSync(sh, ['-c', shellJoin(['printf', '%s\\0', ...args])], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), args);
  });
}

/** printError: our errors with their hint and code; a JavaScript TypeError/ReferenceError/RangeError named as our bug, with how to report it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PitrError } from '@pitrtools/core/errors';
import { printError } from '../src/exit.js';

function stderrOf(fn: () => number): { code: number; text: string } {
  const write = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: fn(), text };
  } finally {
    process.stderr.write = write;
  }
}

test('a TypeError is called a bug in pitrtools, with how to get its stack', () => {
  for (const err of [
    new TypeError("Cannot read properties of undefined (reading 'state')"),
    new ReferenceError('x is not defined'),
    new RangeError('Invalid time value'),
  ]) {
    const r = stderrOf(() => printError('cmd_archiver', err));
    assert.equal(r.code, 1);
    assert.match(r.text, new RegExp(`^cmd_archiver: ERROR: internal error \\(a bug in pitrtools\\): ${err.message.replace(/[()]/g, '\\$&')}\\n`));
    assert.match(r.text, /^cmd_archiver: HINT: run it again with PITR_DEBUG=1 for the stack/m);
    const d = stderrOf(() => printError('cmd_archiver', err, true));
    assert.match(d.text, /\n\s+at /, 'the stack under debug');
  }
});

test('a system error is not called a bug; our own errors keep their words, hint and exit code', () => {
  const sys = Object.assign(new Error('EACCES: permission denied, open /x'), { code: 'EACCES' });
  const r = stderrOf(() => printError('cmd_standby', sys));
  assert.doesNotMatch(r.text, /internal error|HINT/);
  const ours = stderrOf(() => printError('cmd_standby', new PitrError('USAGE', 'choose one', { hint: 'pick -B' })));
  assert.equal(ours.code, 2);
  assert.equal(ours.text, 'cmd_standby: ERROR: choose one\ncmd_standby: HINT: pick -B\n');
  const bare = stderrOf(() => printError('cmd_archiver', new PitrError('USAGE', '--restart goes with --setup')));
  assert.equal(
    bare.text,
    'cmd_archiver: ERROR: --restart goes with --setup\ncmd_archiver: HINT: cmd_archiver --help lists every option\n',
    'a usage error without a hint of its own points at --help',
  );
});

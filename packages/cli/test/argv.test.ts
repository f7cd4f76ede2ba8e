/** usageMessage: yargs' "Unknown arguments" as a person typed them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usageMessage } from '../src/argv.js';

test('an unknown option is named once, with the dashes it was typed with', () => {
  assert.equal(
    usageMessage('Unknown arguments: recover-to-time, recoverToTime', ['-C', 'x.ini', '--recover-to-time', 'T']),
    'unknown option --recover-to-time',
  );
  assert.equal(usageMessage('Unknown argument: bogus', ['-C', 'x.ini', '--bogus']), 'unknown option --bogus');
  assert.equal(usageMessage('Unknown argument: z', ['-z']), 'unknown option -z');
  assert.equal(usageMessage('Unknown arguments: dry-runn, dryRunn, log-fil, logFil', ['--dry-runn', '--log-fil=/x']), 'unknown options --dry-runn, --log-fil');
});

test('a word that is no option is an unexpected argument; other messages pass unchanged', () => {
  assert.equal(usageMessage('Unknown argument: foo', ['-C', 'x.ini', 'foo']), 'unexpected argument foo');
  assert.equal(usageMessage('Unknown arguments: bogus, foo', ['--bogus', 'foo']), 'unknown option --bogus; unexpected argument foo');
  assert.equal(usageMessage('Missing required argument: config\ngive the ini file with -C', [], 'cmd_archiver.ini'), '-C <cmd_archiver.ini> is required');
  assert.equal(usageMessage('Not enough arguments following: C', ['-C']), 'Not enough arguments following: C');
});

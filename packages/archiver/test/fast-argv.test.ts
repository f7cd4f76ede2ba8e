/** The hand-rolled archive_command parser: exactly -C and -F, every other command line goes to yargs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fastArchiveArgs } from '../src/cli/fast-argv.js';

describe('fastArchiveArgs', () => {
  const want = { config: '/etc/a.ini', file: 'pg_wal/000000010000000000000001' };
  for (const argv of [
    ['-C', '/etc/a.ini', '-F', 'pg_wal/000000010000000000000001'],
    ['-F', 'pg_wal/000000010000000000000001', '-C', '/etc/a.ini'],
    ['-C/etc/a.ini', '-Fpg_wal/000000010000000000000001'],
    ['--config', '/etc/a.ini', '--file=pg_wal/000000010000000000000001'],
    ['--config=/etc/a.ini', '--file', 'pg_wal/000000010000000000000001'],
  ]) {
    it(`reads ${argv.join(' ')}`, () => assert.deepEqual(fastArchiveArgs(argv), want));
  }
  for (const argv of [
    [],
    ['-C', 'a.ini'],
    ['-C', 'a.ini', '-F', 'x', '-v'],
    ['-C', 'a.ini', '-I'],
    ['-C', 'a.ini', '-F', 'x', '-n'],
    ['-C', 'a.ini', '-C', 'b.ini', '-F', 'x'],
    ['-C', 'a.ini', '-F'],
    ['-C', 'a.ini', '-F', '--check'],
    ['-C', 'a.ini', '-F', ''],
    ['--help'],
    ['-C', 'a.ini', '--check'],
    ['x', '-C', 'a.ini', '-F', 'y'],
  ]) {
    it(`leaves ${JSON.stringify(argv)} to the full parser`, () => assert.equal(fastArchiveArgs(argv), undefined));
  }
});

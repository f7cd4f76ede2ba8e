import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLogLine, memoryLogger, redact, createLogger } from '../src/log.js';

test('log lines look like [YYYY-MM-DD HH:MM:SS TZ] LEVEL: message', () => {
  const line = formatLogLine('WARNING', 'queue is growing', new Date(2026, 0, 2, 3, 4, 5));
  assert.match(line, /^\[2026-01-02 03:04:05 [A-Z][A-Za-z0-9+:-]*\] WARNING: queue is growing$/);
});

test('debug lines appear only when debug is on', () => {
  const on = memoryLogger(true);
  const off = memoryLogger(false);
  on.debug('x');
  off.debug('x');
  assert.equal(on.lines.length, 1);
  assert.equal(off.lines.length, 0);
});

test('passwords are never printed', () => {
  assert.equal(redact("primary_conninfo = 'host=a password=s3cret user=r'"), "primary_conninfo = 'host=a password=******** user=r'");
  assert.equal(redact('repl_db_password: hunter2'), 'repl_db_password: ********');
  assert.equal(redact('postgres://rep:hunter2@db/x'), 'postgres://rep:********@db/x');
  const lines: string[] = [];
  const log = createLogger((_l, line) => lines.push(line), { secrets: ['Zq9-unguessable'] });
  log.error('could not connect with Zq9-unguessable');
  assert.doesNotMatch(lines[0]!, /Zq9-unguessable/);
});

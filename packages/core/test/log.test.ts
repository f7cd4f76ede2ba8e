import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { formatLogLine, memoryLogger, redact, createLogger } from '../src/log.js';

test('log lines look like [YYYY-MM-DD HH:MM:SS TZ] LEVEL: message', () => {
  const line = formatLogLine('WARNING', 'queue is growing', new Date(2026, 0, 2, 3, 4, 5));
  assert.match(line, /^\[2026-01-02 03:04:05 [A-Z][A-Za-z0-9+:-]*\] WARNING: queue is growing$/);
});

// In a child with its own TZ; `noIntl` makes Intl.DateTimeFormat throw, so a line that needs it fails.
const lineIn = (tz: string, noIntl: boolean): { line: string; intl: string } => {
  const code = `
    const { formatLogLine } = await import(${JSON.stringify(new URL('../src/log.ts', import.meta.url).href)});
    const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const intl = Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName').value;
    ${noIntl ? "Intl.DateTimeFormat = () => { throw new Error('Intl used'); };" : ''}
    console.log(JSON.stringify({ line: formatLogLine('INFO', 'x', d), intl }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
  return JSON.parse(out) as { line: string; intl: string };
};

test("in UTC a log line's zone is written without Intl (its first use costs -B ~7-10 MB of RSS: ICU's data)", () => {
  assert.equal(lineIn('UTC', true).line, '[2026-01-02 03:04:05 UTC] INFO: x');
});

test('in other zones the zone name is what Intl gives (en-US, short)', () => {
  for (const tz of ['Europe/London', 'America/New_York', 'Asia/Kolkata']) {
    const { line, intl } = lineIn(tz, false);
    assert.match(line, new RegExp(`^\\[2026-01-0[12] \\d\\d:\\d\\d:05 ${intl.replace('+', '\\+')}\\] INFO: x$`), tz);
  }
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

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { raiseAlert, validateHookCommand, type Alert } from '../src/alerts.js';
import { memoryLogger } from '../src/log.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-alerts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A hook that records its argv (NUL-separated) and the PITR_* environment.
const recorder = join(dir, 'record.sh');
writeFileSync(recorder, `#!/bin/sh\nout="$1"; shift\nprintf '%s\\0' "$@" > "$out.argv"\nenv | grep '^PITR_' | sort > "$out.env"\n`);
chmodSync(recorder, 0o755);
const alert = (message: string, extra: Partial<Alert> = {}): Alert => ({ level: 'CRITICAL', event: 'slave_unreachable', message, role: 'archiver', ...extra });

test('the message is appended as one argument and never reaches a shell', async () => {
  const out = join(dir, 'hostile');
  const canary = join(dir, 'pwned');
  const hostile = `it's "bad"; touch ${canary} $(touch ${canary}) \`touch ${canary}\`\nsecond line | rm -rf / &`;
  const log = memoryLogger();
  const r = await raiseAlert({ notify_critical: `${recorder} ${out} "two words"` }, alert(hostile, { slave: 'db2', segment: '000000010000000000000007' }), log);
  assert.equal(r.ran, true);
  assert.equal(r.result?.code, 0);
  const argv = readFileSync(`${out}.argv`, 'utf8').split('\0').slice(0, -1);
  assert.deepEqual(argv, ['two words', hostile]);
  assert.equal(existsSync(canary), false, 'a hostile message must not run anything');
  const env = readFileSync(`${out}.env`, 'utf8');
  assert.match(env, /^PITR_LEVEL=CRITICAL$/m);
  assert.match(env, /^PITR_EVENT=slave_unreachable$/m);
  assert.match(env, /^PITR_ROLE=archiver$/m);
  assert.match(env, /^PITR_SLAVE=db2$/m);
  assert.match(env, /^PITR_SEGMENT=000000010000000000000007$/m);
  assert.match(env, /^PITR_HOST=.+$/m);
});

test('the hook for the level is chosen; none configured means nothing runs', async () => {
  const log = memoryLogger();
  const ok = join(dir, 'ok');
  await raiseAlert({ notify_ok: `${recorder} ${ok}`, notify_critical: '/bin/false' }, alert('recovered', { level: 'OK', event: 'slave_recovered' }), log);
  assert.match(readFileSync(`${ok}.env`, 'utf8'), /^PITR_LEVEL=OK$/m);
  const none = await raiseAlert({}, alert('x', { level: 'WARNING' }), log);
  assert.equal(none.ran, false);
});

test('a hook that hangs is killed at the time limit, with its children, and the failure is logged', async () => {
  const log = memoryLogger();
  const started = Date.now();
  const r = await raiseAlert({ notify_warning: '/bin/sh -c "sleep 30 & sleep 30" sh', hook_timeout: 1 }, alert('slow', { level: 'WARNING' }), log);
  const took = Date.now() - started;
  assert.equal(r.result?.timedOut, true);
  assert.ok(took < 15_000, `took ${took} ms (the hook would hang for 30 s)`);
  assert.ok(
    log.lines.some((l) => /did not finish within 1s/.test(l)),
    log.lines.join('\n'),
  );
});

test('a missing or failing hook is logged and does not throw', async () => {
  const log = memoryLogger();
  const missing = await raiseAlert({ notify_critical: '/nonexistent/alert.sh' }, alert('x'), log);
  assert.ok(missing.result?.spawnError);
  const failing = await raiseAlert({ notify_critical: '/bin/false' }, alert('x'), log);
  assert.equal(failing.result?.code, 1);
  assert.ok(log.lines.some((l) => /could not start/.test(l)));
  assert.ok(log.lines.some((l) => /failed \(exit 1\)/.test(l)));
});

test('hook command lines are validated', () => {
  assert.equal(validateHookCommand('/bin/echo OK'), undefined);
  assert.match(validateHookCommand("/bin/echo 'x") ?? '', /unterminated/);
  assert.match(validateHookCommand('   ') ?? '', /empty/);
});

test('the example Nagios passive hook writes a valid external command line from our environment', async () => {
  const cmdFile = join(dir, 'nagios.cmd');
  writeFileSync(cmdFile, '');
  const hook = new URL('../../../scripts/nagios-passive-hook.sh', import.meta.url).pathname;
  const log = memoryLogger();
  const prev = process.env.NAGIOS_CMD;
  process.env.NAGIOS_CMD = cmdFile;
  process.env.NAGIOS_HOST = 'db1';
  try {
    const r = await raiseAlert({ notify_critical: hook }, alert('slave db2 unreachable; queued\n000000010000000000000007'), log);
    assert.equal(r.result?.code, 0, r.result?.stderr);
  } finally {
    if (prev === undefined) delete process.env.NAGIOS_CMD;
    else process.env.NAGIOS_CMD = prev;
    delete process.env.NAGIOS_HOST;
  }
  const line = readFileSync(cmdFile, 'utf8');
  assert.match(
    line,
    /^\[\d+\] PROCESS_SERVICE_CHECK_RESULT;db1;pitrtools-archiver;2;PITR CRITICAL - slave_unreachable: slave db2 unreachable  queued 000000010000000000000007\n$/,
  );
});

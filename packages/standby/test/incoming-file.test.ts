import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PitrError } from '@pitrtools/core/errors';
import { fromWire, toWire } from '../src/basebackup/copy-protocol.js';
import { IncomingFile } from '../src/basebackup/incoming-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-incoming-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a received file exists under its name only once complete, with the given mtime, mode 0600', async () => {
  const dest = join(dir, '16384');
  writeFileSync(dest, 'the old version');
  const f = await IncomingFile.create(dest);
  await f.write([Buffer.from('hello '), Buffer.from('wor')], 0);
  await f.write([Buffer.from('ld')], 9);
  assert.equal(readFileSync(dest, 'utf8'), 'the old version', 'the old file stays until the new one is complete');
  assert.ok(existsSync(f.tmp) && f.tmp.startsWith(join(dir, '.16384.')) && f.tmp.endsWith('.tmp'));
  await f.place(1_700_000_000);
  assert.equal(readFileSync(dest, 'utf8'), 'hello world');
  assert.equal(statSync(dest).mtimeMs, 1_700_000_000_000);
  assert.equal(statSync(dest).mode & 0o777, 0o600);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test('a directory where the master now has a file is replaced; mtime 0 marks a file to copy again', async () => {
  const dest = join(dir, 'was-a-dir');
  mkdirSync(join(dest, 'sub'), { recursive: true });
  const f = await IncomingFile.create(dest);
  await f.write([Buffer.from('x')], 0);
  await f.place(0);
  assert.ok(statSync(dest).isFile());
  assert.equal(statSync(dest).mtimeMs, 0);
});

test('discard removes the temp file and leaves the destination alone', async () => {
  const dest = join(dir, 'kept');
  writeFileSync(dest, 'complete');
  const f = await IncomingFile.create(dest);
  await f.write([Buffer.alloc(1000, 1)], 0);
  await f.discard();
  assert.equal(readFileSync(dest, 'utf8'), 'complete');
  assert.ok(!existsSync(f.tmp));
});

test("a worker's error crosses to the main thread with its code: disk full stays ENOSPC, SSH codes stay", () => {
  const enospc = fromWire(toWire(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })));
  assert.equal((enospc as Error & { code?: string }).code, 'ENOSPC');
  assert.match(enospc.message, /no space left/);
  const lost = fromWire(toWire(new PitrError('SSH_DISCONNECTED', 'lost the SSH connection to a@b:22', { hint: 'is sshd up?' })));
  assert.ok(lost instanceof PitrError);
  assert.equal(lost.code, 'SSH_DISCONNECTED');
  assert.equal(lost.hint, 'is sshd up?');
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { moveComplete, placePartial } from '../src/receiver/files.js';
import type { StandbyConfig } from '@pitrtools/core/config/index';

const root = mkdtempSync(join(tmpdir(), 'pitr-recvfiles-'));
after(() => rmSync(root, { recursive: true, force: true }));
const archivedir = join(root, 'archive');
const recv = join(archivedir, '.receivewal');
const pgdata = join(root, 'data');
mkdirSync(recv, { recursive: true });
mkdirSync(join(pgdata, 'pg_wal'), { recursive: true });
const seg = (n: number): string => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

test('complete segments and history files join archivedir without replacing anything; the newest segment stays for pg_receivewal', async () => {
  writeFileSync(join(recv, seg(1)), 'one');
  writeFileSync(join(recv, seg(2)), 'two');
  writeFileSync(join(recv, seg(3)), 'three');
  writeFileSync(join(recv, `${seg(4)}.partial`), 'four, so far');
  writeFileSync(join(recv, '00000002.history'), '1\t0/3000000\tx\n');
  writeFileSync(join(archivedir, seg(1)), 'one'); // cmd_archiver was first, same bytes
  writeFileSync(join(archivedir, seg(2)), 'TWO'); // different bytes: a conflict, nothing replaced
  const r = await moveComplete(recv, archivedir);
  assert.deepEqual(r, { added: [seg(3), '00000002.history'], identical: [seg(1)], conflicts: [seg(2)] });
  assert.equal(readFileSync(join(archivedir, seg(2)), 'utf8'), 'TWO');
  assert.equal(readFileSync(join(archivedir, seg(3)), 'utf8'), 'three');
  assert.equal(statSync(join(archivedir, seg(3))).ino, statSync(join(recv, seg(3))).ino, 'linked, not copied');
  assert.deepEqual(readdirSync(recv).sort(), [seg(2), seg(3), `${seg(4)}.partial`], 'the conflict and the newest segment stay');
  assert.ok(!readdirSync(archivedir).some((n) => n.endsWith('.partial')));
  const again = await moveComplete(recv, archivedir, new Set([seg(2)]));
  assert.deepEqual(again.conflicts, [], 'a known conflict is reported once');
});

test('placePartial puts the newest partial segment into pg_wal under its name, unless it is already there', async () => {
  const config = { archivedir, pgdata } as unknown as StandbyConfig;
  assert.equal(await placePartial(config), seg(4));
  assert.equal(readFileSync(join(pgdata, 'pg_wal', seg(4)), 'utf8'), 'four, so far');
  assert.equal(await placePartial(config), undefined, 'pg_wal has it now');
  rmSync(join(pgdata, 'pg_wal', seg(4)));
  writeFileSync(join(archivedir, seg(4)), 'four, complete');
  assert.equal(await placePartial(config), undefined, 'archivedir has the complete one');
});

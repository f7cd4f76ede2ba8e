import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { backupRecordText, copyStart } from '../src/local/copy-state.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-copy-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const label = (lsn: string, zone: string): string =>
  `START WAL LOCATION: ${lsn} (file 000000010000000000000002)\nCHECKPOINT LOCATION: ${lsn}\nSTART TIME: 2026-05-28 11:00:38 ${zone}\nLABEL: x\n`;
const wall = Date.UTC(2026, 4, 28, 11, 0, 38);

test("the record -B wrote is the copy's start while its LSN is backup_label's, then backup_label.old's", async () => {
  writeFileSync(join(dir, 'backup_label'), label('0/2000028', 'CST'));
  writeFileSync(join(dir, 'pitrtools.backup'), backupRecordText({ startLsn: '0/2000028', startedAt: '2026-05-28T03:00:38.412Z' }));
  const at = Date.parse('2026-05-28T03:00:38.412Z');
  assert.deepEqual(await copyStart(dir), { text: '2026-05-28T03:00:38.412Z', earliestMs: at, latestMs: at, source: 'pitrtools.backup' });
  renameSync(join(dir, 'backup_label'), join(dir, 'backup_label.old'));
  assert.equal((await copyStart(dir))?.source, 'pitrtools.backup', 'after PostgreSQL read the label');
  rmSync(join(dir, 'backup_label.old'));
  assert.equal(await copyStart(dir), undefined, 'a record that no label confirms is not used');
});

test('without a matching record: backup_label START TIME, one instant only when its zone is unambiguous', async () => {
  writeFileSync(join(dir, 'pitrtools.backup'), backupRecordText({ startLsn: '0/1000028', startedAt: '2020-01-01T00:00:00.000Z' }));
  writeFileSync(join(dir, 'backup_label'), label('0/2000028', 'UTC'));
  assert.deepEqual(await copyStart(dir), { text: '2026-05-28 11:00:38 UTC', earliestMs: wall, latestMs: wall, source: 'backup_label' });
  writeFileSync(join(dir, 'backup_label'), label('0/2000028', 'CST'));
  assert.deepEqual(await copyStart(dir), {
    text: '2026-05-28 11:00:38 CST',
    earliestMs: wall - 14 * 3600_000,
    latestMs: wall + 12 * 3600_000,
    source: 'backup_label',
  });
  writeFileSync(join(dir, 'pitrtools.backup'), 'not json');
  assert.equal((await copyStart(dir))?.source, 'backup_label');
});

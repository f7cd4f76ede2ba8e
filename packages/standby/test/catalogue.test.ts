/**
 * The backup catalogue's pure parts: backup_manifest exactly as PostgreSQL writes it (version 1
 * and 2, Encoded-Path, the manifest checksum), keep_backups' choice of sets and of archived WAL,
 * --cleanup (archive_cleanup_command) never removing WAL a kept set needs, and the run of archived
 * segments that says how far a set can be recovered.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { applyRetention } from '../src/commands/backup-set.js';
import type { BasebackupResult } from '../src/commands/basebackup.js';
import { backupSetLines } from '../src/cli/results.js';
import { cleanupArchive } from '../src/commands/cleanup.js';
import type { Ctx } from '../src/context.js';
import { manifestChecksumOk, manifestText, manifestTime, type ManifestFile } from '../src/catalogue/manifest.js';
import { copyNeedsFrom } from '../src/catalogue/copy-floor.js';
import { manifestFiles } from '../src/catalogue/manifest-files.js';
import { hasNeededWal, lastOfRun, nextSegment } from '../src/catalogue/recoverable.js';
import { lowerCutoff, setsBeyond, walBelowFloor, walFloor } from '../src/catalogue/retention.js';
import { listSets, setLabel, writeMeta, type BackupSetMeta } from '../src/catalogue/sets.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-catalogue-'));
after(() => rmSync(root, { recursive: true, force: true }));

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const file = (path: string | Buffer, content: string, mtimeS: number): ManifestFile => ({
  path: Buffer.isBuffer(path) ? path : Buffer.from(path),
  size: Buffer.byteLength(content),
  mtimeS,
  sha256: sha(content),
});

test('backup_manifest version 1: the bytes PostgreSQL writes, with a manifest checksum over everything before its line', () => {
  const text = manifestText(
    { versionNum: 150004, systemIdentifier: '7312345678901234567', walRanges: [{ timeline: 1, startLsn: '0/02000028', endLsn: '0/2000100' }] },
    [file('backup_label', 'START WAL LOCATION', 1_780_000_000), file('base/1/1259', 'x', 0)],
  );
  const body =
    '{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n' +
    `{ "Path": "backup_label", "Size": 18, "Last-Modified": "2026-05-28 20:26:40 GMT", "Checksum-Algorithm": "SHA256", "Checksum": "${sha('START WAL LOCATION')}" },\n` +
    `{ "Path": "base/1/1259", "Size": 1, "Last-Modified": "1970-01-01 00:00:00 GMT", "Checksum-Algorithm": "SHA256", "Checksum": "${sha('x')}" }\n` +
    '],\n"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n';
  assert.equal(text.toString('utf8'), `${body}"Manifest-Checksum": "${sha(body)}"}\n`);
  assert.ok(manifestChecksumOk(text));
  const changed = Buffer.from(text);
  changed[60] = changed[60]! ^ 1;
  assert.ok(!manifestChecksumOk(changed), 'one byte changed breaks the manifest checksum');
});

test('backup_manifest version 2 (PostgreSQL 17+) names the system identifier; a name that is not UTF-8 is an Encoded-Path; quotes are escaped', () => {
  const bad = Buffer.from([0x62, 0x61, 0x73, 0x65, 0x2f, 0xff, 0x41]);
  const text = manifestText(
    { versionNum: 170002, systemIdentifier: '7312345678901234567', walRanges: [{ timeline: 3, startLsn: '1/A000028', endLsn: '1/A000138' }] },
    [file(bad, '', 0), file('odd"name\n', '', 0)],
  ).toString('utf8');
  assert.ok(text.startsWith('{ "PostgreSQL-Backup-Manifest-Version": 2,\n"System-Identifier": 7312345678901234567,\n"Files": [\n'));
  assert.match(text, /\{ "Encoded-Path": "626173652fff41", "Size": 0, /);
  assert.match(text, /\{ "Path": "odd\\"name\\n", "Size": 0, /);
  assert.equal(manifestTime(86_400.9), '1970-01-02 00:00:00 GMT');
});

test('manifestFiles lists every file below a set (not backup_manifest itself), sorted by path bytes, with its SHA-256', async () => {
  const d = join(root, 'tree');
  mkdirSync(join(d, 'base', '1'), { recursive: true });
  writeFileSync(join(d, 'PG_VERSION'), '15\n');
  writeFileSync(join(d, 'base', '1', '1259'), 'relation');
  writeFileSync(join(d, 'backup_manifest'), 'not listed');
  writeFileSync(Buffer.concat([Buffer.from(`${d}/`), Buffer.from([0xff, 0x41])]), 'x'); // a name that is not UTF-8
  const files = await manifestFiles(d);
  assert.deepEqual(
    files.map((f) => [f.path.toString('hex'), f.size, f.sha256]),
    [
      [Buffer.from('PG_VERSION').toString('hex'), 3, sha('15\n')],
      [Buffer.from('base/1/1259').toString('hex'), 8, sha('relation')],
      ['ff41', 1, sha('x')],
    ],
  );
});

const meta = (label: string, startWal: string): BackupSetMeta => ({
  label,
  start_lsn: '0/0',
  stop_lsn: '0/0',
  start_time: '',
  stop_time: '',
  timeline: parseInt(startWal.slice(0, 8), 16),
  start_wal: startWal,
  stop_wal: startWal,
  wal_segment_size: 16 * 1024 * 1024,
  bytes: 0,
  files: 0,
  duration_ms: 0,
  source: 'master',
  source_host: 'h',
  server_version_num: 150000,
  system_identifier: '1',
});

test('keep_backups: the oldest sets beyond N go; the WAL floor is the lowest start of the kept ones on any timeline', () => {
  const a = meta('20261130T100000Z', '000000010000000000000003');
  const b = meta('20261130T110000Z', '000000010000000000000007');
  const c = meta('20261130T120000Z', '000000020000000000000005'); // after a PITR back to an earlier position on timeline 2
  assert.deepEqual(
    setsBeyond([c, a, b], 2).map((s) => s.label),
    [a.label],
  );
  assert.deepEqual(setsBeyond([a], 2), []);
  assert.deepEqual(
    setsBeyond([a, b], 0).map((s) => s.label),
    [a.label],
    'at least one set is always kept',
  );
  assert.equal(walFloor([b, c]), '0000000000000005');
  const archive = [
    '000000010000000000000004',
    '000000010000000000000004.00000028.backup',
    '000000010000000000000005',
    '000000020000000000000004.partial',
    '00000002.history',
    '000000010000000000000006',
    'junk',
  ];
  assert.deepEqual(walBelowFloor(archive, '0000000000000005'), [
    '000000010000000000000004',
    '000000010000000000000004.00000028.backup',
    '000000020000000000000004.partial',
  ]);
  assert.equal(lowerCutoff('0000000000000009', '0000000000000005'), '0000000000000005');
  assert.equal(lowerCutoff('0000000000000004', '0000000000000005'), '0000000000000004');
  assert.equal(lowerCutoff('0000000000000004', undefined), '0000000000000004');
  assert.equal(setLabel('2026-11-30T16:30:00.123Z'), '20261130T163000Z');
});

test('--cleanup %r (archive_cleanup_command) never removes WAL that a kept backup set needs', async () => {
  const archivedir = join(root, 'archive');
  const full = join(root, 'backups');
  mkdirSync(archivedir, { mode: 0o700 });
  mkdirSync(join(full, '20261130T100000Z'), { recursive: true, mode: 0o700 });
  await writeMeta(join(full, '20261130T100000Z'), meta('20261130T100000Z', '000000010000000000000003'));
  mkdirSync(join(full, '.0123.partial'), { mode: 0o700 }); // a set being built counts for nothing
  for (let i = 1; i <= 6; i++) writeFileSync(join(archivedir, `00000001000000000000000${i}`), '');
  assert.deepEqual(
    (await listSets(full)).map((s) => s.label),
    ['20261130T100000Z'],
  );
  const removed = await cleanupArchive({ archivedir, restartFile: '000000010000000000000006', fullBackup: full });
  assert.deepEqual(removed.sort(), ['000000010000000000000001', '000000010000000000000002']);
  assert.deepEqual(readdirSync(archivedir).sort(), [
    '000000010000000000000003',
    '000000010000000000000004',
    '000000010000000000000005',
    '000000010000000000000006',
  ]);
  // Without a catalogue, pg_archivecleanup's rule alone.
  assert.deepEqual((await cleanupArchive({ archivedir, restartFile: '000000010000000000000005' })).sort(), [
    '000000010000000000000003',
    '000000010000000000000004',
  ]);
});

test("the archived run from a set's start segment: where it ends, and whether it reaches the stop segment", () => {
  const seg = 16 * 1024 * 1024;
  assert.equal(nextSegment('0000000100000000000000FF', seg), '000000010000000100000000');
  assert.equal(nextSegment('000000010000000000000009', seg), '00000001000000000000000A');
  assert.equal(nextSegment('000000010000000000000003', 1024 * 1024 * 1024), '000000010000000100000000');
  const set = { start_wal: '0000000100000000000000FE', stop_wal: '000000010000000100000000', wal_segment_size: seg };
  const archived = new Set(['0000000100000000000000FE', '0000000100000000000000FF', '000000010000000100000000', '000000010000000100000002']);
  assert.equal(lastOfRun(set, archived), '000000010000000100000000');
  assert.ok(hasNeededWal(set, archived));
  archived.delete('0000000100000000000000FF');
  assert.ok(!hasNeededWal(set, archived), 'a gap before the stop segment');
  assert.equal(lastOfRun({ ...set, start_wal: '000000010000000000000001' }, archived), undefined);
});

test("the WAL the copy in pgdata needs: backup_label's start before it ran, pg_control's REDO after; nothing without a copy", async () => {
  const pgdata = join(root, 'copy');
  const seg = 16 * 1024 * 1024;
  assert.equal(await copyNeedsFrom(pgdata, seg), undefined);
  mkdirSync(join(pgdata, 'global'), { recursive: true });
  const ctl = Buffer.alloc(8192);
  ctl.writeBigUInt64LE(0x1_0500_0028n, 40); // checkPointCopy.redo
  ctl.writeUInt32LE(2, 48); // checkPointCopy.ThisTimeLineID
  writeFileSync(join(pgdata, 'global', 'pg_control'), ctl);
  assert.equal(await copyNeedsFrom(pgdata, seg), '000000020000000100000005');
  writeFileSync(join(pgdata, 'backup_label'), 'START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\nCHECKPOINT LOCATION: 0/3000060\n');
  assert.equal(await copyNeedsFrom(pgdata, seg), '000000010000000000000003');
});

test('keep_backups removes the oldest set and the WAL below the kept ones, but never what the copy in pgdata still needs', async () => {
  const base = join(root, 'retention');
  const full = join(base, 'backups');
  const archivedir = join(base, 'archive');
  const pgdata = join(base, 'data');
  mkdirSync(archivedir, { recursive: true, mode: 0o700 });
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  const labels = {
    '20261130T100000Z': '000000010000000000000003',
    '20261130T110000Z': '000000010000000000000005',
    '20261130T120000Z': '000000010000000000000007',
  };
  for (const [label, wal] of Object.entries(labels)) {
    mkdirSync(join(full, label, 'data'), { recursive: true, mode: 0o700 });
    await writeMeta(join(full, label), meta(label, wal));
  }
  for (let i = 1; i <= 8; i++) writeFileSync(join(archivedir, `00000001000000000000000${i}`), '');
  writeFileSync(join(archivedir, '00000002.history'), '1\t0/1000000\tno reason\n');
  // A cold copy in pgdata (taken by -B, never started) that starts in segment 4.
  writeFileSync(join(pgdata, 'backup_label'), 'START WAL LOCATION: 0/4000028 (file 000000010000000000000004)\n');
  const ctx = {
    config: { archivedir, pgdata, keep_backups: 2 },
    log: undefined,
  } as unknown as Ctx;
  const r = await applyRetention(ctx, full);
  assert.deepEqual(r.removedSets, ['20261130T100000Z']);
  assert.deepEqual(readdirSync(full).sort(), ['20261130T110000Z', '20261130T120000Z']);
  assert.deepEqual(r.removedWal, ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003']);
  assert.ok(readdirSync(archivedir).includes('000000010000000000000004'), 'the copy in pgdata still needs segment 4');
  assert.ok(readdirSync(archivedir).includes('00000002.history'));
  assert.deepEqual(r.keptFrom, { wal: '000000010000000000000004', pgdata });
  const lines = backupSetLines({ ...r, meta: {} as BackupSetMeta, dir: full, copy: { elapsedMs: 0, bytes: 0 } as BasebackupResult, walComplete: true });
  assert.deepEqual(lines.slice(2), [
    'Removed backup set 20261130T100000Z (keep_backups 2)',
    `Removed 3 archived WAL files older than 000000010000000000000004, which the copy in ${pgdata} needs`,
  ]);
});

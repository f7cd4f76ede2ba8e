// pitr-test: once
/**
 * backup_manifest and --verify-backup (issue 13, part 2) against PostgreSQL's own tools:
 * pg_basebackup writes a manifest for the same master and ours rebuilds it byte for byte from its
 * entries; pg_verifybackup passes on every set of the catalogue (with the WAL from archivedir) and
 * the outcome is recorded in the set; it fails when one byte of a relation file changes, and when
 * a WAL segment the set needs is missing from archivedir.
 *
 * pg_verifybackup and pg_basebackup read only their own major's formats, and this machine has
 * them only for PostgreSQL 15 (Debian's postgresql-client-15; the npm builds of 14-18 ship the
 * server alone): this file runs on 15 whatever PITR_PG_VERSIONS says.
 */
process.env.PITR_PG_VERSION = '15';

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { backupSet } from '../packages/standby/src/commands/backup-set.js';
import { manifestText, type ManifestFile } from '../packages/standby/src/catalogue/manifest.js';
import { listSets, readMeta } from '../packages/standby/src/catalogue/sets.js';
import { cleanupAll } from './rig/cleanup.js';
import { makeTempDir } from './rig/tmp.js';
import { ctxFor, prepareMaster, runCmd, standbyEnv, type StandbyEnv, switchAndWaitArchived, writeIni } from './rig/standby-env.js';

const BIN15 = '/usr/lib/postgresql/15/bin';
let env: StandbyEnv;
let full: string;
let ts: string;
before(async () => {
  env = await standbyEnv({ archiver: 'cp' });
  full = join(env.dir, 'backups');
  writeIni(env, { pg_conf: join(env.dir, 'conf', 'postgresql.conf'), pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'), full_backup: full, keep_backups: '2' });
  ts = join(env.dir, 'ts-master');
  mkdirSync(ts, { mode: 0o700 });
  // A tablespace too: the set keeps it as pg_tblspc/<oid>/, where pg_verifybackup looks for it.
  await prepareMaster(
    env,
    `CREATE TABLESPACE ts1 LOCATION '${ts}'`,
    "CREATE TABLE t TABLESPACE ts1 AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 1000) g",
  );
});
after(cleanupAll);

interface PgManifest {
  'PostgreSQL-Backup-Manifest-Version': number;
  'System-Identifier'?: number;
  Files: Array<{ Path: string; Size: number; 'Last-Modified': string; Checksum: string }>;
  'WAL-Ranges': Array<{ Timeline: number; 'Start-LSN': string; 'End-LSN': string }>;
}

test("our manifest writer gives pg_basebackup 15's backup_manifest byte for byte from the same entries", () => {
  const dir = join(makeTempDir('pitr-pgbb-').path, 'copy');
  const r = spawnSync(
    join(BIN15, 'pg_basebackup'),
    [
      '-h',
      env.master.socketDir,
      '-p',
      String(env.master.port),
      '-U',
      env.master.user,
      '-D',
      dir,
      '-T',
      `${ts}=${dir}-ts`,
      '-X',
      'none',
      '--no-sync',
      '--manifest-checksums=SHA256',
      '--checkpoint=fast',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const theirs = readFileSync(join(dir, 'backup_manifest'));
  const m = JSON.parse(theirs.toString('utf8')) as PgManifest;
  assert.equal(m['PostgreSQL-Backup-Manifest-Version'], 1);
  assert.ok(m.Files.length > 500);
  const files: ManifestFile[] = m.Files.map((f) => ({
    path: Buffer.from(f.Path),
    size: f.Size,
    sha256: f.Checksum,
    mtimeS: Date.parse(f['Last-Modified'].replace(' GMT', 'Z').replace(' ', 'T')) / 1000,
  }));
  const ours = manifestText(
    {
      versionNum: 150000,
      systemIdentifier: '0',
      walRanges: m['WAL-Ranges'].map((w) => ({ timeline: w.Timeline, startLsn: w['Start-LSN'], endLsn: w['End-LSN'] })),
    },
    files,
  );
  assert.equal(ours.toString('utf8'), theirs.toString('utf8'));
});

test('pg_verifybackup passes on every set and is recorded; one changed byte of a relation file or a missing WAL segment fails it', async () => {
  const ctx = ctxFor(env);
  await backupSet(ctx);
  await env.master.query("INSERT INTO t SELECT g, 'y' FROM generate_series(1, 100) g");
  await switchAndWaitArchived(env.master);
  await backupSet(ctx);
  const sets = await listSets(full);
  assert.equal(sets.length, 2);
  const ok = await runCmd(['-C', env.ini, '--verify-backup']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  for (const s of sets) {
    assert.match(ok.stdout, new RegExp(`^${s.label}: verified: backup successfully verified$`, 'm'));
    assert.equal((await readMeta(full, s.label))?.verified?.ok, true);
  }
  const listed = JSON.parse((await runCmd(['-C', env.ini, '--list-backups', '--json'])).stdout) as Array<{ verified: boolean }>;
  assert.deepEqual(
    listed.map((x) => x.verified),
    [true, true],
  );

  // One byte of table t's first relation file in the older set.
  const [older, newer] = sets;
  const rel = String(await env.master.scalar("SELECT pg_relation_filepath('t')"));
  const path = join(full, older!.label, 'data', rel);
  const original = readFileSync(path);
  const changed = Buffer.from(original);
  changed[8192 + 100] = changed[8192 + 100]! ^ 0xff;
  writeFileSync(path, changed);
  const bad = await runCmd(['-C', env.ini, '--verify-backup', older!.label]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, new RegExp(`^${older!.label}: FAILED: .*checksum mismatch for file "${rel}"`, 'm'));
  assert.equal((await readMeta(full, older!.label))?.verified?.ok, false);
  writeFileSync(path, original);

  // The newer set's start segment taken out of archivedir.
  const seg = join(env.archivedir, newer!.start_wal);
  renameSync(seg, `${seg}.aside`);
  try {
    const noWal = await runCmd(['-C', env.ini, '--verify-backup', newer!.label]);
    assert.equal(noWal.code, 1, noWal.stdout + noWal.stderr);
    assert.match(noWal.stdout, new RegExp(`^${newer!.label}: FAILED: pg_waldump: error: could not find file "${newer!.start_wal}"`, 'm'));
  } finally {
    renameSync(`${seg}.aside`, seg);
  }
  const again = await runCmd(['-C', env.ini, '--verify-backup']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const unknown = await runCmd(['-C', env.ini, '--verify-backup', '20000101T000000Z']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no backup set 20000101T000000Z in .*the sets are: /s);
});

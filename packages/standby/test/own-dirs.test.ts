/**
 * cmd_standby writes and trusts only directories of its own (issue 10, class 3), on real files as
 * the test user: --restore and --cleanup refuse an archivedir others can write to (whoever can
 * write there chooses the WAL we replay) with exit 2 and the fix, copying and removing nothing;
 * the state files and the server log are never written through a symbolic link.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError } from '@pitrtools/core/errors';
import type { PgBinaries } from '@pitrtools/core/pg/binaries';
import { silentLogger } from '@pitrtools/core/log';
import { cleanupArchive } from '../src/commands/cleanup.js';
import { restoreWal } from '../src/commands/restore.js';
import { recordReplayed } from '../src/local/files.js';
import { startServer } from '../src/local/server.js';
import { segmentStartLsn } from '../src/recovery/wal-file-check.js';

const root = mkdtempSync(join(tmpdir(), 'pitr-standby-own-'));
after(() => rmSync(root, { recursive: true, force: true }));
const SEG = '000000010000000000000005';

const refused =
  (code: string, path: string) =>
  (e: unknown): boolean =>
    e instanceof PitrError && e.code === code && e.exitCode === 2 && e.message.includes(path);

test('--restore and --cleanup refuse an archivedir others can write to (exit 2, chmod as the fix), touching nothing', async () => {
  const archivedir = join(root, 'archive');
  const pgdata = join(root, 'data');
  mkdirSync(archivedir, { mode: 0o700 });
  mkdirSync(join(pgdata, 'pg_wal'), { recursive: true, mode: 0o700 });
  writeFileSync(join(archivedir, SEG), 'planted by someone else');
  writeFileSync(join(archivedir, '000000010000000000000001'), 'old');
  for (const mode of [0o777, 0o770]) {
    chmodSync(archivedir, mode);
    await assert.rejects(
      restoreWal({ archivedir, pgdata, file: SEG, dest: 'pg_wal/RECOVERYXLOG', cwd: pgdata }),
      (e: unknown) =>
        refused('DIR_NOT_PRIVATE', archivedir)(e) &&
        /archivedir .* is writable by others/.test((e as Error).message) &&
        (e as PitrError).hint === `chmod 0700 ${archivedir}`,
    );
    await assert.rejects(cleanupArchive({ archivedir, restartFile: SEG }), refused('DIR_NOT_PRIVATE', archivedir));
  }
  assert.ok(!existsSync(join(pgdata, 'pg_wal', 'RECOVERYXLOG')), 'nothing restored');
  assert.deepEqual(readdirSync(archivedir).sort(), ['000000010000000000000001', SEG], 'nothing removed');
  chmodSync(archivedir, 0o700);
  // Now a real-looking 1 MiB segment (the restore helper checks the long page header and the size).
  const seg = Buffer.alloc(1024 * 1024);
  seg.writeUInt16LE(0x0002, 2);
  seg.writeBigUInt64LE(segmentStartLsn(SEG, seg.length), 8);
  seg.writeUInt32LE(seg.length, 32);
  writeFileSync(join(archivedir, SEG), seg);
  assert.equal(await restoreWal({ archivedir, pgdata, file: SEG, dest: 'pg_wal/RECOVERYXLOG', cwd: pgdata }), 'restored');
  assert.deepEqual(await cleanupArchive({ archivedir, restartFile: SEG }), ['000000010000000000000001']);
});

test('a state file or the server log planted as a link: refused (exit 2), the target unchanged', async () => {
  const pgdata = join(root, 'data2');
  mkdirSync(pgdata, { mode: 0o700 });
  const target = join(root, 'target');
  writeFileSync(target, 'precious\n');
  symlinkSync(target, join(pgdata, 'pitrtools.replayed'));
  await assert.rejects(recordReplayed(pgdata, new Date(0)), refused('SYMLINK_REFUSED', join(pgdata, 'pitrtools.replayed')));
  const logfile = join(pgdata, 'server.log');
  symlinkSync(target, logfile);
  // Refused before pg_ctl would run (it opens the log with fopen "a", which follows links).
  const bins = { pg_ctl: '/nonexistent/pg_ctl' } as unknown as PgBinaries;
  await assert.rejects(startServer({ pgdata, logfile } as unknown as StandbyConfig, bins, silentLogger), refused('SYMLINK_REFUSED', logfile));
  assert.equal(readFileSync(target, 'utf8'), 'precious\n');
});

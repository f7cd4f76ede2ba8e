/**
 * -B's block re-sync against a real master over a real sshd: with compress zstd every file goes
 * through the sender on the master (cmd_standby --send-files over an SSH exec channel); after a
 * few UPDATEs a second -B moves only the blocks that changed (a small fraction of the table's
 * bytes; before the sender it re-sent every changed file whole), and the standby starts from that
 * copy with the rows. The walk lists the master's directories through a sender too. A master
 * without the sender (master_cmd_standby naming a missing path): one warning naming
 * master_cmd_standby, and -B lists and copies over SFTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { basebackupLines } from '../packages/standby/src/cli/results.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { cleanupAll } from './rig/cleanup.js';
import { ctxFor, prepareMaster, standbyEnv, type StandbyEnv, waitOnStandby, writeIni } from './rig/standby-env.js';

const BIN = new URL('../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;
let env: StandbyEnv;
let base: Record<string, string>;
before(async () => {
  env = await standbyEnv({ archiver: 'cp' });
  base = {
    pg_conf: `${env.dir}/conf/postgresql.conf`,
    pg_hba_conf: `${env.dir}/conf/pg_hba.conf`,
    compress: 'zstd',
    master_cmd_standby: `${process.execPath} ${BIN}`,
  };
  writeIni(env, base);
  // ~13 MB of table: big enough that re-sending it whole is far above the bound below.
  await prepareMaster(env, "CREATE TABLE big AS SELECT g, repeat('x', 60) AS v FROM generate_series(1, 150000) AS g", 'CHECKPOINT');
});
after(cleanupAll);

describe('block re-sync of -B', () => {
  test('-B with compress zstd and rsync_threads 8: every file and every listing through the sender, compressed on the wire', async () => {
    // 8 streams with a sender each are 16 channels: more than sshd's MaxSessions (10) allows on
    // one connection, so the copy spreads them over connections (it failed with "open failed").
    // The copy on this thread, as on 2 cores, whatever this machine has: there one service held
    // every stream on one connection.
    writeIni(env, { ...base, rsync_threads: '8' });
    const ctx = ctxFor(env);
    await initStandby(ctx);
    process.env.PITR_COPY_THREAD = 'main';
    const r = await basebackup(ctx).finally(() => {
      delete process.env.PITR_COPY_THREAD;
      writeIni(env, base);
    });
    assert.ok(
      ctx.log.lines.some((l) => l.includes('the walk lists through the block sender on the master')),
      ctx.log.lines.join('\n'),
    );
    assert.ok(r.resynced > 0 && r.resynced === r.copied, `${r.resynced} of ${r.copied} files through the sender`);
    // Table pages of repeated text compress well: what crossed is well below the files' bytes.
    assert.ok(r.wireBytes < r.resyncedBytes / 2, `${r.wireBytes} bytes on the wire for ${r.resyncedBytes}`);
    const lines = basebackupLines(r);
    assert.ok(
      lines.some((l) => /^re-synced \d+ files \(compress zstd\): .* sent for .* of files$/.test(l)),
      lines.join('\n'),
    );
  });

  test('a master without the sender: one warning naming master_cmd_standby, and -B copies over SFTP', async () => {
    writeIni(env, { ...base, master_cmd_standby: `${env.dir}/no-such/cmd_standby` });
    const ctx = ctxFor(env);
    const r = await basebackup(ctx).finally(() => writeIni(env, base));
    const warned = ctx.log.messages.filter(([l, m]) => l === 'WARNING' && m.startsWith('no block sender on the master'));
    assert.equal(warned.length, 1, ctx.log.lines.join('\n'));
    assert.match(
      warned[0]![1],
      /no-such\/cmd_standby --send-files: .*(not found|No such file).*uncompressed: set master_cmd_standby in .*cmd_standby\.ini to cmd_standby's path/,
    );
    assert.equal(r.resynced, 0);
    assert.ok(
      ctx.log.lines.some((l) => l.includes('the walk lists over SFTP: no block sender')),
      ctx.log.lines.join('\n'),
    );
  });

  test('after a few UPDATEs a second -B moves a fraction of the table; the standby starts and has the rows', async () => {
    await env.master.query("UPDATE big SET v = 'changed' WHERE g % 5000 = 0");
    await env.master.query('CHECKPOINT');
    const table = Number(await env.master.scalar("SELECT pg_relation_size('big')"));
    const ctx = ctxFor(env);
    const r = await basebackup(ctx);
    // Bytes moved: the sender's (both ways) plus files copied whole over SFTP. Whole changed
    // files (what -B did before the sender) are more than the table; the blocks that changed are
    // ~30 pages. The bound is loose so that a busy machine cannot make it flake.
    const moved = r.wireBytes + (r.bytes - r.resyncedBytes);
    assert.ok(moved < table / 4, `moved ${moved} bytes on the wire for a ${table}-byte table (${r.copied} files, ${r.bytes} bytes changed)`);
    assert.ok(r.resyncedBytes >= table, `the table's file went through the sender (${r.resyncedBytes} bytes)`);
    await startStandby(ctx, { iniPath: env.ini });
    await waitOnStandby(env, 'the updated rows', "SELECT count(*)::int FROM big WHERE v = 'changed'", 30);
    await waitOnStandby(env, 'every row', 'SELECT count(*)::int FROM big', 150000);
  });
});

/**
 * -B's block re-sync against a real master over a real sshd: with compress zstd every file goes
 * through the sender on the master (cmd_standby --send-files over an SSH exec channel); after a
 * few UPDATEs a second -B moves only the blocks that changed (a small fraction of the table's
 * bytes; before the sender it re-sent every changed file whole), and the standby starts from that
 * copy with the rows. The walk lists the master's directories through a sender too. A master
 * without the sender (master_cmd_standby naming a missing path): one warning naming
 * master_cmd_standby, and -B lists and copies over SFTP. A re-sync interrupted by SIGINT while
 * a file is being rebuilt leaves no temp file behind, and the next -B has none to clear.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basebackup } from '../packages/standby/src/commands/basebackup.js';
import { basebackupLines } from '../packages/standby/src/cli/results.js';
import { initStandby } from '../packages/standby/src/commands/init.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { cleanupAll } from './rig/cleanup.js';
import { ctxFor, prepareMaster, runCmd, standbyEnv, type StandbyEnv, waitOnStandby, writeIni } from './rig/standby-env.js';

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
    assert.ok(r.senderFiles > 0 && r.senderFiles === r.copied, `${r.senderFiles} of ${r.copied} files through the sender`);
    // Into an empty directory: nothing was there to re-sync against.
    assert.equal(r.resynced, 0);
    // Table pages of repeated text compress well: what crossed is well below the files' bytes.
    assert.ok(r.wireBytes < r.senderBytes / 2, `${r.wireBytes} bytes on the wire for ${r.senderBytes}`);
    const lines = basebackupLines(r);
    assert.match(lines[0]!, /^Base backup finished: copied \d+ files \(.* of file data\) in .*, skipped \d+ unchanged, removed 0 not on the master;/);
    assert.ok(
      lines.some((l) => /^block sender \(compress zstd\): .* sent over SSH for .* of file data in \d+ files$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => l.includes('re-synced')), lines.join('\n'));
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
    const moved = r.wireBytes + (r.bytes - r.senderBytes);
    assert.ok(moved < table / 4, `moved ${moved} bytes on the wire for a ${table}-byte table (${r.copied} files, ${r.bytes} bytes changed)`);
    assert.ok(r.senderBytes >= table, `the table's file went through the sender (${r.senderBytes} bytes)`);
    assert.ok(r.resynced > 0, `${r.resynced} files re-synced against the standby's copy`);
    assert.match(basebackupLines(r).join('\n'), /, \d+ of them re-synced against the standby's copy$/m);
    await startStandby(ctx, { iniPath: env.ini });
    await waitOnStandby(env, 'the updated rows', "SELECT count(*)::int FROM big WHERE v = 'changed'", 30);
    await waitOnStandby(env, 'every row', 'SELECT count(*)::int FROM big', 150000);
  });

  test('SIGINT during a re-sync: exit 130, no temp file left in the data directory, the next -B clears none', async () => {
    await runCmd(['-C', env.ini, '-A', 'stop']);
    // Every page of the table changes, and the sender's answers come at 1 MB/s (a pipe through
    // a throttle on the master's side): a rebuilt table file is under its temp name for seconds.
    await env.master.query("UPDATE big SET v = repeat('y', 60)");
    await env.master.query('CHECKPOINT');
    const throttle = join(env.dir, 'throttle.mjs');
    writeFileSync(
      throttle,
      'process.stdin.on("data", (d) => { process.stdin.pause(); process.stdout.write(d, () => setTimeout(() => process.stdin.resume(), d.length / 1000)); });\n',
    );
    const slow = join(env.dir, 'slow-sender.sh');
    writeFileSync(slow, `#!/bin/sh\n"${process.execPath}" "${BIN}" "$@" | "${process.execPath}" "${throttle}"\n`);
    writeIni(env, { ...base, compress: 'none', master_cmd_standby: `/bin/sh ${slow}` });
    // Our temp files in the copy, read while -B runs: a directory that goes meanwhile (PostgreSQL
    // 17+'s pg_wal/summaries, replaced by the copy) is skipped, not an error.
    const temps = (): string[] => {
      const out: string[] = [];
      const walk = (dir: string, rel: string): void => {
        let entries: Dirent[];
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw err;
        }
        for (const e of entries) {
          const path = rel === '' ? e.name : `${rel}/${e.name}`;
          if (e.isDirectory()) walk(join(dir, e.name), path);
          else if (/^\.[^/]+\.tmp$/.test(e.name)) out.push(path);
        }
      };
      walk(env.pgdata, '');
      return out;
    };
    assert.deepEqual(temps(), []);
    const child = spawn(process.execPath, [BIN, '-C', env.ini, '-B'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Copy threads, whatever the cores here: their temps are theirs to remove when asked.
      env: { ...process.env, PITR_COPY_THREAD: 'worker' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.resume();
    const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      // Signal once the first temp file is there (poll with a deadline).
      const deadline = Date.now() + 60_000;
      let seen: string[] = [];
      while ((seen = temps()).length === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(seen.length > 0, `no temp file appeared: ${stderr}`);
      child.kill('SIGINT');
      assert.equal(await ended, 130, stderr);
    } finally {
      child.kill('SIGKILL');
      writeIni(env, base);
    }
    assert.match(stderr, /-B interrupted by SIGINT: the copy in .* is incomplete/);
    assert.deepEqual(temps(), [], 'temp files of the interrupted run');
    const r = await basebackup(ctxFor(env));
    assert.equal(r.staleTemps, 0);
    assert.ok(!basebackupLines(r).some((l) => l.startsWith('cleared')), basebackupLines(r).join('\n'));
  });
});

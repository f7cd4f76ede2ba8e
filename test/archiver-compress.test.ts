// pitr-test: ends
/**
 * compress on the wire (issue 14): PostgreSQL's archiver drives cmd_archiver (and the cmd_queue
 * it starts) into two real sshd slaves whose WAL receiver is cmd_standby --receive-wal-stream over
 * an SSH exec channel. A burst arrives byte-identical (plain WAL, not compressed) with zstd and
 * with lz4; a conflict reads and exits as it does over SFTP and overwrites nothing; a retried
 * segment already there is success; a receiver that cannot start falls back to SFTP with one
 * line naming slave_cmd_standby; the old rsync_flags: -z turns compression on with a notice.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sha256File, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { makeSegments, waitFor } from './rig/postgres.js';

after(cleanupAll);

const CMD_STANDBY = new URL('../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;
let env: ArchiverEnv;
let fake = 0;

before(async () => {
  // compress is set per test (writeIni), never in the base keys: the rsync_flags test needs it unset.
  env = await startArchiverEnv({ name: 'compress', slaves: 2, ini: { debug: 'on' } });
  env.writeIni({ debug: 'on', compress: 'zstd', slave_cmd_standby: CMD_STANDBY });
});

/** A new file in pg_wal named far after anything PostgreSQL writes here, marked .ready as PostgreSQL marks a finished one (-F checks names and status, not contents). */
function fakeSegment(bytes: Buffer = randomBytes(1 << 20)): { name: string; bytes: Buffer } {
  const name = `000000010000000F000000${(0x10 + fake++).toString(16).toUpperCase().padStart(2, '0')}`;
  writeFileSync(join(env.pg.pgdata, 'pg_wal', name), bytes, { mode: 0o600 });
  writeFileSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${name}.ready`), '', { mode: 0o600 });
  return { name, bytes };
}

/** One -F as PostgreSQL runs it: exit code and the ERROR/WARNING/HINT lines. */
async function archive(name: string): Promise<{ code: number | null; words: string[]; stderr: string }> {
  const r = await env.run(['-C', env.ini, '-F', `pg_wal/${name}`], { cwd: env.pg.pgdata });
  return { code: r.code, words: r.stderr.split('\n').filter((l) => /^(cmd_archiver:|\[[^\]]+\]) (ERROR|WARNING|HINT):/.test(l)), stderr: r.stderr };
}

async function burstArrives(n: number, algo: string): Promise<void> {
  const before = await env.stats();
  await makeSegments(env.pg, n);
  await waitFor(`${n} segments archived with compress: ${algo}`, async () => (await env.stats()).archived - before.archived >= n, 120_000, 50);
  assert.equal((await env.stats()).failed, before.failed, 'pg_stat_archiver failed_count did not grow');
  const names = env
    .walFiles(join(env.pg.pgdata, 'pg_wal'))
    .filter((f) => {
      try {
        readFileSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${f}.done`));
        return true;
      } catch {
        return false;
      }
    })
    .slice(-n);
  assert.equal(names.length, n);
  for (const name of names) {
    const want = sha256File(join(env.pg.pgdata, 'pg_wal', name));
    for (const s of env.slaves) assert.equal(sha256File(join(s.rdir, name)), want, `${name} on ${s.name}: plain WAL, byte-identical`);
  }
  const log = readFileSync(join(env.lArchivedir, 'cmd_queue.log'), 'utf8');
  assert.match(log, new RegExp(`WAL stream 1 open \\(compress: ${algo}, `), 'cmd_queue shipped through the receiver');
  assert.doesNotMatch(log, /shipping uncompressed over SFTP/);
}

test('zstd, then lz4: a burst of real WAL arrives byte-identical on both slaves through the receiver', async () => {
  await burstArrives(8, 'zstd');
  env.writeIni({ debug: 'on', compress: 'lz4', slave_cmd_standby: CMD_STANDBY });
  await burstArrives(6, 'lz4');
});

test('a conflict reads and exits the same with and without compression, on both paths; nothing overwritten; a retried segment is success', async () => {
  const answers: Record<string, { code: number | null; words: string[] }> = {};
  for (const compress of ['none', 'zstd']) {
    for (const warm of ['off', 'on']) {
      env.writeIni({ compress, slave_cmd_standby: CMD_STANDBY, warm_path: warm });
      const seg = fakeSegment();
      const other = Buffer.from('another file under the same name');
      writeFileSync(join(env.slaves[0]!.rdir, seg.name), other);
      const a = await archive(seg.name);
      // The slave and segment names differ per run: compare the words with them taken out.
      answers[`${compress}/${warm}`] = { code: a.code, words: a.words.map((w) => w.replaceAll(seg.name, 'SEG')) };
      assert.ok(readFileSync(join(env.slaves[0]!.rdir, seg.name)).equals(other), `${compress}/${warm}: nothing overwritten`);
    }
  }
  const first = answers['none/off']!;
  assert.equal(first.code, 4);
  assert.match(first.words[0]!, new RegExp(`^cmd_archiver: ERROR: SEG is NOT archived: ${env.slaves[0]!.name}: CONFLICT`));
  for (const [k, a] of Object.entries(answers)) assert.deepEqual(a, first, `${k} answers as SFTP does`);

  // The same bytes already there (a retry after a lost answer): success, through the receiver.
  env.writeIni({ compress: 'zstd', slave_cmd_standby: CMD_STANDBY, warm_path: 'off', debug: 'on' });
  const seg = fakeSegment();
  writeFileSync(join(env.slaves[1]!.rdir, seg.name), seg.bytes);
  const r = await archive(seg.name);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /WAL stream 1 open \(compress: zstd, /);
  for (const s of env.slaves) assert.ok(readFileSync(join(s.rdir, seg.name)).equals(seg.bytes), `on ${s.name}`);
});

test('a receiver that cannot start on the slave: one WARNING per slave naming slave_cmd_standby, shipped over SFTP', async () => {
  env.writeIni({ compress: 'zstd', slave_cmd_standby: '/nonexistent/cmd_standby', warm_path: 'off' });
  const seg = fakeSegment();
  const r = await archive(seg.name);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.words.filter((w) => /shipping uncompressed over SFTP/.test(w));
  assert.equal(lines.length, 2, r.stderr);
  for (const l of lines)
    assert.match(l, /WARNING: slave \S+: compress: zstd needs the WAL receiver on the slave, but \/nonexistent\/cmd_standby .*slave_cmd_standby/);
  for (const s of env.slaves) assert.ok(readFileSync(join(s.rdir, seg.name)).equals(seg.bytes), `on ${s.name}`);
  // The config check says so before any segment: it starts the receiver as a segment would.
  const check = await env.run(['-C', env.ini]);
  assert.equal(check.code, 0, check.stderr);
  const warned = check.stdout
    .split('\n')
    .filter((l) => /^WARNING: slave .*needs the WAL receiver on the slave and .*segments would go uncompressed over SFTP/.test(l));
  assert.equal(warned.length, 2, check.stdout);
  assert.match(check.stdout, /HINT: .*set slave_cmd_standby to its cmd_standby/);
  env.writeIni({ compress: 'zstd', slave_cmd_standby: CMD_STANDBY, warm_path: 'off' });
  const ok = await env.run(['-C', env.ini]);
  assert.equal(ok.stdout.split('\n').filter((l) => /^INFO: slave .*the WAL receiver for compress: zstd answers/.test(l)).length, 2, ok.stdout);
});

test('the old rsync_flags: -z turns compress: zstd on, said in one line', async () => {
  env.writeIni({ rsync_flags: '-az', slave_cmd_standby: CMD_STANDBY, warm_path: 'off', debug: 'on' });
  const seg = fakeSegment();
  const r = await archive(seg.name);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.words.filter((w) => / WARNING: \S+:\d+: key 'rsync_flags': '-az' asks rsync for compression, read as compress: zstd /.test(w)).length,
    1,
    r.stderr,
  );
  assert.match(r.stderr, /WAL stream 1 open \(compress: zstd, /);
  for (const s of env.slaves) assert.ok(readFileSync(join(s.rdir, seg.name)).equals(seg.bytes), `on ${s.name}`);
});

// pitr-test: ends
/**
 * cmd_archiver --setup and --stop against a real PostgreSQL that starts with archiving off and a
 * real sshd slave: --setup sets everything by ALTER SYSTEM, says the restart archive_mode needs and
 * does not restart until --restart; then segments reach the slave byte for byte. --stop keeps the
 * next segment in pg_wal (.ready stays, failures counted, nothing on the slave) until --setup.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FRONT_END, sha256File, startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { switchWal, waitFor } from './rig/postgres.js';

after(cleanupAll);
let env: ArchiverEnv;
/** PostgreSQL restarted by --restart inherits this environment: the rig's counting `node` first, as at its start. */
let runEnv: NodeJS.ProcessEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'setup', slaves: 1, pgConf: { archive_mode: 'off', archive_command: "''" } });
  runEnv = { PATH: `${join(env.dir, 'node-stub')}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}` };
});

const postmasterPid = (): number => Number(readFileSync(join(env.pg.pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);

/** Writes a row, switches WAL and returns the name of the segment that became ready. */
async function nextSegment(): Promise<string> {
  await env.pg.query('CREATE TABLE IF NOT EXISTS setup_t (i int)');
  await env.pg.query('INSERT INTO setup_t VALUES (1)');
  return switchWal(env.pg);
}

describe('--setup', () => {
  test('on a cluster with archiving off: ALTER SYSTEM and reload, says the restart it needs, restarts only with --restart; then it archives', async () => {
    const pid = postmasterPid();
    const r = await env.run(['-C', env.ini, '--setup'], { env: runEnv });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^INFO: ALTER SYSTEM SET archive_mode = 'on' \(was 'off'\)/m);
    // With archive_mode off PostgreSQL shows archive_command as '(disabled)': the configured value is said.
    assert.ok(r.stdout.includes(`INFO: ALTER SYSTEM SET archive_command = '${FRONT_END} -C ${env.ini} -F %p' (was '')`), r.stdout);
    assert.match(r.stdout, /^INFO: wal_level is already 'replica'$/m);
    assert.match(r.stdout, /^WARNING: reloaded, but archive_mode takes effect only after a restart of PostgreSQL: until then it archives nothing$/m);
    assert.match(r.stdout, /^HINT: .*pg_ctl -D .* restart -m fast\), or run cmd_archiver --setup --restart$/m);
    assert.equal(postmasterPid(), pid, 'not restarted without --restart');
    assert.equal(await env.pg.scalar('SHOW archive_mode'), 'off');
    assert.equal(
      await env.pg.scalar("SELECT setting FROM pg_file_settings WHERE name = 'archive_command' ORDER BY seqno DESC LIMIT 1"),
      `${FRONT_END} -C ${env.ini} -F %p`,
    );

    const again = await env.run(['-C', env.ini, '--setup', '--restart'], { env: runEnv, timeoutMs: 120_000 });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^INFO: archive_mode is already 'on' \(waiting for a restart\)$/m, 'ALTER SYSTEM already has it');
    assert.match(again.stdout, /^INFO: restarted PostgreSQL \(pg_ctl restart -m fast\): archive_mode = 'on', wal_level = 'replica'$/m);
    assert.notEqual(postmasterPid(), pid);
    const [seg] = await env.archiveMore(1);
    const copy = join(env.slaves[0]!.rdir, seg!);
    await waitFor(`${seg} on the slave`, async () => existsSync(copy), 60_000, 100);
    assert.equal(sha256File(copy), sha256File(join(env.pg.pgdata, 'pg_wal', seg!)));
  });
});

describe('--stop', () => {
  test('state: offline: the next segment stays in pg_wal (.ready, failures counted, nothing on the slave) until --setup', async () => {
    const r = await env.run(['-C', env.ini, '--stop']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^INFO: state: offline in .*cmd_archiver\.ini: cmd_archiver refuses every segment \(exit 3\) and PostgreSQL retries it$/m);
    assert.match(
      r.stdout,
      /^WARNING: archiving is stopped: PostgreSQL keeps every segment in pg_wal \(pg_wal grows until archiving is back\) and the slaves receive no WAL/m,
    );
    assert.match(readFileSync(env.ini, 'utf8'), /^\[DEFAULT\]\nstate: offline\n/);
    const before = await env.stats();
    const seg = await nextSegment();
    await waitFor('archive_command to fail (offline)', async () => (await env.stats()).failed > before.failed, 60_000, 100);
    assert.ok(existsSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${seg}.ready`)), '.ready stays');
    assert.equal((await env.stats()).archived, before.archived);
    assert.ok(!existsSync(join(env.slaves[0]!.rdir, seg)), 'nothing reached the slave');

    const s = await env.run(['-C', env.ini, '--setup'], { env: runEnv });
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /^INFO: state: online in .* \(it was offline\): cmd_archiver ships again$/m);
    assert.match(s.stdout, /^INFO: reloaded: archiving is set up; no restart needed$/m);
    await waitFor(`${seg} on the slave`, async () => existsSync(join(env.slaves[0]!.rdir, seg)), 60_000, 100);
    assert.equal(sha256File(join(env.slaves[0]!.rdir, seg)), sha256File(join(env.pg.pgdata, 'pg_wal', seg)));
  });

  test('--remove also empties archive_command: PostgreSQL stops calling us and keeps the WAL; flags out of place are usage errors', async () => {
    const r = await env.run(['-C', env.ini, '--stop', '--remove']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^INFO: ALTER SYSTEM SET archive_command = '' and reloaded/m);
    await waitFor('archive_command to be empty', async () => (await env.pg.scalar('SHOW archive_command')) === '', 30_000, 100);
    const before = await env.stats();
    const seg = await nextSegment();
    assert.ok(existsSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${seg}.ready`)), '.ready stays');
    assert.deepEqual(await env.stats(), before, 'nothing archived, nothing failed: not called at all');
    for (const [args, msg] of [
      [['--restart'], /--restart goes with --setup/],
      [['--remove'], /--remove goes with --stop/],
      [['--setup', '--stop'], /choose one action, not --setup and --stop/],
    ] as const) {
      const u = await env.run(['-C', env.ini, ...args]);
      assert.equal(u.code, 2, u.stdout + u.stderr);
      assert.match(u.stderr, msg);
    }
  });
});

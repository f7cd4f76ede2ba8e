// pitr-test: ends
/**
 * cmd_archiver SIGKILLed in the middle of an upload (standalone: warm_path off, no cmd_queue):
 * the slave never shows a file under the final name, PostgreSQL retries, and the end state is
 * byte-identical. The upload is slowed by a relay so that the kill lands mid-transfer.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CMD_QUEUE, sha256File, startArchiverEnv } from './rig/archiver-env.js';
import { startThrottle } from './rig/archiver-throttle.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

after(cleanupAll);

/** Pids of cmd_archiver processes archiving `name` with this ini. */
function archiverPids(ini: string, name: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('cmd_archiver.js')) && argv.includes(ini) && argv.includes(`pg_wal/${name}`)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

test('SIGKILL mid-upload: no file under the final name, PostgreSQL retries, the end state is byte-identical', async () => {
  const env = await startArchiverEnv({ name: 'sigkill', slaves: 1, ini: { warm_path: 'off' } });
  const slave = env.slaves[0]!;
  const throttle = await startThrottle(slave.sshd.port, 2 * 1024 * 1024); // 16 MiB take ~8 s
  slave.entry = `127.0.0.1:${throttle.port}`;
  slave.knownHostsFile = join(env.dir, 'known_hosts_throttle');
  writeFileSync(slave.knownHostsFile, `[127.0.0.1]:${throttle.port} ${slave.sshd.hostPublicKey}\n`, { mode: 0o600 });
  env.writeIni();
  const name = await env.pg.scalar<string>('SELECT pg_walfile_name(pg_current_wal_insert_lsn())');
  await env.pg.query('SELECT pg_switch_wal()');
  const final = join(slave.rdir, name);
  const temps = (): string[] => readdirSync(slave.rdir).filter((f) => f.startsWith(`.${name}.`) && f.endsWith('.tmp'));
  // Mid-upload: a temp file of a few MiB exists.
  await waitFor(
    'an upload in progress',
    async () =>
      temps().some((t) => {
        try {
          return statSync(join(slave.rdir, t)).size > 2 * 1024 * 1024;
        } catch {
          return false;
        }
      }),
    30_000,
    20,
  );
  const pids = archiverPids(env.ini, name);
  assert.equal(pids.length, 1, `one cmd_archiver uploading ${name}`);
  process.kill(pids[0]!, 'SIGKILL');
  const killedTemp = temps();
  // Until the throttle is lifted, every retry is slow too: the final name must not appear.
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    assert.ok(!existsSync(final), 'no file under the final name');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(env.daemonPid(), undefined, 'no cmd_queue involved (warm_path off, nothing queued)');
  throttle.setRate(null);
  await waitFor('archived by a retry', async () => (await env.stats()).last === name, 90_000);
  assert.equal(sha256File(final), sha256File(join(env.pg.pgdata, 'pg_wal', name)));
  assert.match(readFileSync(env.pg.logFile, 'utf8'), /archive command (was terminated by signal 9|failed with exit code 137)/);
  // The killed upload left only a dot-temp (removed later by cmd_queue's clean-up of stale temps).
  assert.ok(killedTemp.length >= 1);
  assert.ok(readdirSync(slave.rdir).every((f) => f === name || /^\..+\.[0-9a-f]{16}\.tmp$/.test(f)));
  assert.deepEqual(env.walFiles(join(env.lArchivedir, `127.0.0.1_${throttle.port}`)), [], 'nothing was queued');
  // cmd_queue removes such temps once they are an hour old, after it connects.
  const hourAgo = (Date.now() - 2 * 3600_000) / 1000;
  for (const t of killedTemp) if (existsSync(join(slave.rdir, t))) utimesSync(join(slave.rdir, t), hourAgo, hourAgo);
  env.writeIni({ warm_path: 'on' }); // the warm cmd_queue connects to every slave at once
  const started = await env.run(['-C', env.ini, '--daemon'], { bin: CMD_QUEUE });
  assert.equal(started.code, 0, started.stderr);
  await waitFor('stale temps removed', async () => readdirSync(slave.rdir).every((f) => f === name), 30_000);
});

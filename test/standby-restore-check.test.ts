/**
 * The restore helper under a real standby: a truncated segment and a garbled .history in the
 * archive. PostgreSQL must never be handed either: the standby starts (a bad .history would stop
 * its startup process with FATAL), waits instead of replaying a hole, --check keeps naming the last
 * complete segment, notify_critical fires once the same file was refused REJECTS_BEFORE_ALERT
 * times, and the complete file is replayed as soon as it is in place.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { initAndCopy, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, switchAndWaitArchived } from './rig/standby-env.js';

const RECORDER = new URL('./rig/archiver-alert-recorder.mjs', import.meta.url).pathname;
let env: StandbyEnv;
let alerts: string;
before(async () => {
  env = await standbyEnv({ archiver: 'cp' });
  alerts = join(env.dir, 'alerts.jsonl');
  await prepareMaster(env, 'CREATE TABLE t (what text)');
  await initAndCopy(env);
});
after(cleanupAll);

const recorded = (): Array<{ args: string[]; env: Record<string, string> }> =>
  existsSync(alerts)
    ? readFileSync(alerts, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { args: string[]; env: Record<string, string> })
    : [];

test('a truncated segment and a garbled .history never reach PostgreSQL; the complete segment is replayed once it is there', async () => {
  await env.master.query("INSERT INTO t VALUES ('in the truncated segment')");
  const seg = await switchAndWaitArchived(env.master);
  const path = join(env.archivedir, seg);
  const complete = join(env.dir, `${seg}.complete`);
  copyFileSync(path, complete);
  truncateSync(path, 3 * 1024 * 1024);
  // PostgreSQL probes for the next timeline's history at start-up (recovery_target_timeline = latest).
  writeFileSync(join(env.archivedir, '00000002.history'), 'not a history file\n');
  const ini = readFileSync(env.ini, 'utf8');
  writeFileSync(env.ini, `${ini}notify_critical: ${process.execPath} ${RECORDER} ${alerts}\n`, { mode: 0o600 });

  const s = await runCmd(['-C', env.ini, '-S']);
  assert.equal(
    s.code,
    0,
    `-S must start the standby (a bad .history handed over stops it with FATAL): ${s.stderr}\n${readFileSync(env.logfile, 'utf8').slice(-3000)}`,
  );
  const alert = await waitFor(
    'the restore_rejected alert',
    async () => recorded().find((a) => a.env.PITR_EVENT === 'restore_rejected' && a.env.PITR_SEGMENT === seg),
    120_000,
    250,
  );
  assert.equal(alert.env.PITR_LEVEL, 'CRITICAL');
  assert.match(alert.args.at(-1)!, new RegExp(`not restoring ${seg} .*3145728 bytes where a segment of this cluster has 16777216.*refused 3 times`));
  assert.match(readFileSync(env.logfile, 'utf8'), new RegExp(`not restoring ${seg}`), 'the reason is in the server log');
  assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r, count(*)::int AS n FROM t'), [{ r: true, n: 0 }]);
  const restored = existsSync(join(env.pgdata, 'pitrtools.restored')) ? readFileSync(join(env.pgdata, 'pitrtools.restored'), 'utf8').trim() : '';
  assert.ok(restored < seg, `--check must not report ${seg} as restored (it says ${restored})`);
  assert.equal(recorded().filter((a) => a.env.PITR_EVENT === 'restore_rejected' && a.env.PITR_SEGMENT === seg).length, 1, 'alerted once, not on every retry');

  renameSync(complete, path);
  await waitFor(
    'the row of the complete segment on the standby',
    async () => (await standbyQuery<{ n: number }>(env, 'SELECT count(*)::int AS n FROM t'))[0]!.n === 1,
    120_000,
    250,
  );
  await waitFor(`${seg} recorded as restored`, async () => readFileSync(join(env.pgdata, 'pitrtools.restored'), 'utf8').trim() >= seg, 30_000);
  assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }], 'the garbled .history changed no timeline');
});

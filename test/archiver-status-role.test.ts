// pitr-test: ends
/**
 * --status and --check on a server that archives nothing with this ini: archive_command '' (as
 * `--stop --remove` leaves it), then the same server in recovery (the old master rejoined as a
 * standby after a failover). Empty queues there prove nothing: the text, --nagios, --json and
 * --check must all say WARNING and why, and say OK again for the master archiving with this ini.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CheckReport } from '../packages/archiver/src/commands/check.js';
import type { ClusterStatus } from '../packages/archiver/src/commands/status.js';
import { startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';

after(cleanupAll);

let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'status-role', slaves: 1 });
  await env.archiveMore(1);
});

/** --status --json, --status --nagios, --status and --check --json, each with its exit code. */
async function look(): Promise<{
  json: ClusterStatus;
  nagios: { code: number | null; stdout: string };
  text: string;
  check: CheckReport;
  checkCode: number | null;
}> {
  const j = await env.run(['-C', env.ini, '--status', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const nagios = await env.run(['-C', env.ini, '--status', '--nagios']);
  const t = await env.run(['-C', env.ini, '--status']);
  assert.equal(t.code, 0, t.stderr);
  const c = await env.run(['-C', env.ini, '--check', '--json']);
  return { json: JSON.parse(j.stdout) as ClusterStatus, nagios, text: t.stdout, check: JSON.parse(c.stdout) as CheckReport, checkCode: c.code };
}

test('the master archiving with this ini: OK everywhere', async () => {
  const r = await look();
  assert.equal(r.json.state, 'OK', r.json.summary);
  assert.equal(r.json.master.inRecovery, false);
  assert.equal(r.json.master.archiving, 'cmd_archiver');
  assert.equal(r.nagios.code, 0, r.nagios.stdout);
  assert.match(r.nagios.stdout, /^PITR_CLUSTER OK - 1 slaves, 1 reachable, queues empty/);
  assert.match(r.text, /^master: WAL at [0-9A-F]+\/[0-9A-F]+; archive_command runs cmd_archiver; archiving online;/m);
  assert.equal(r.checkCode, 0, r.check.summary);
  assert.equal(r.check.server?.archiving, 'cmd_archiver');
});

test("archive_command '': WARNING with the fix, in the text, --nagios, --json and --check", async () => {
  await env.pg.query("ALTER SYSTEM SET archive_command = ''");
  await env.pg.query('SELECT pg_reload_conf()');
  await waitFor('archive_command reloaded', async () => (await env.pg.scalar<string>('SHOW archive_command')) === '');
  const r = await look();
  const why = /archive_command is empty: nothing is archived \(run cmd_archiver -C \S+ --setup\)/;
  assert.equal(r.json.state, 'WARNING', r.json.summary);
  assert.equal(r.json.code, 1);
  assert.equal(r.json.master.inRecovery, false);
  assert.equal(r.json.master.archiving, 'empty');
  assert.equal(r.json.master.archiveCommand, '');
  assert.match(r.json.summary, why);
  assert.equal(r.nagios.code, 1, r.nagios.stdout);
  assert.match(r.nagios.stdout, new RegExp(`^PITR_CLUSTER WARNING - .*${why.source}`));
  assert.match(r.text, new RegExp(`^WARNING: .*${why.source}`));
  assert.match(r.text, /^master: WAL at \S+; archive_command EMPTY; archiving online;/m);
  assert.equal(r.checkCode, 1, r.check.summary);
  assert.equal(r.check.state, 'WARNING');
  assert.equal(r.check.server?.archiving, 'empty');
  assert.match(r.check.summary, why);
});

test('in recovery (the old master rejoined as a standby): WARNING, --status belongs on the master', async () => {
  await env.pg.query('ALTER SYSTEM RESET archive_command'); // the rig's cmd_archiver line again: recovery alone is the reason
  await env.pg.stop();
  writeFileSync(join(env.pg.pgdata, 'standby.signal'), '');
  await env.pg.start();
  await waitFor('in recovery', async () => (await env.pg.scalar<boolean>('SELECT pg_is_in_recovery()')) === true);
  const r = await look();
  const why =
    /this server is in recovery \(a standby\): PostgreSQL does not run archive_command here, nothing is archived with \S+ \(cmd_archiver --status belongs on the master\)/;
  assert.equal(r.json.state, 'WARNING', r.json.summary);
  assert.equal(r.json.master.inRecovery, true);
  assert.equal(r.json.master.archiving, 'in-recovery');
  assert.equal(r.json.master.archiveMode, 'on');
  assert.match(r.json.summary, why);
  assert.equal(r.nagios.code, 1, r.nagios.stdout);
  assert.match(r.nagios.stdout, new RegExp(`^PITR_CLUSTER WARNING - .*${why.source}`));
  assert.match(r.text, new RegExp(`^WARNING: .*${why.source}`));
  assert.match(r.text, /^master: WAL at \S+; IN RECOVERY \(a standby\): archives nothing; archiving online;/m);
  assert.equal(r.checkCode, 1, r.check.summary);
  assert.equal(r.check.server?.inRecovery, true);
  assert.match(r.check.summary, /this server is in recovery \(a standby\): .*\(cmd_archiver --check belongs on the master\)/);
});

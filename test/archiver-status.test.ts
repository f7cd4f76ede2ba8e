// pitr-test: once
/**
 * cmd_archiver --status: one view of the cluster from the master. Three slaves: a healthy one
 * (with its own cmd_standby --check run over SSH through slave_config), a lagging one (back after
 * an outage, its queue not yet delivered) and a dead one (sshd stopped); a replication slot that
 * holds WAL. In the table, in --json, and as one Nagios line.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ClusterStatus } from '../packages/archiver/src/commands/status.js';
import { startArchiverEnv, type ArchiverEnv } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { makeSegments, waitFor } from './rig/postgres.js';

const CMD_STANDBY = new URL('../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;
after(cleanupAll);

let env: ArchiverEnv;
let last: string;
before(async () => {
  env = await startArchiverEnv({ name: 'status', slaves: 3, ini: { queue_wait: '600' } });
  const standbyIni = join(env.dir, 'slave0-cmd_standby.ini');
  writeFileSync(
    standbyIni,
    `[DEFAULT]\nmaster_public_ip: 127.0.0.1\nuser: ${env.pg.user}\npgdata: ${join(env.dir, 'slave0-data')}\narchivedir: ${env.slaves[0]!.rdir}\n`,
    { mode: 0o600 },
  );
  env.writeIni({ slave_config: standbyIni, slave_cmd_standby: CMD_STANDBY });
  const archive = async (n: number): Promise<void> => {
    const before = await env.stats();
    await makeSegments(env.pg, n);
    await waitFor(`${n} archived`, async () => (await env.stats()).archived - before.archived >= n, 120_000, 50);
  };
  await archive(2);
  await env.slaves[1]!.sshd.stop();
  await env.slaves[2]!.sshd.stop();
  await archive(2);
  await env.pg.query("SELECT pg_create_physical_replication_slot('standby_x', true)");
  last = (await env.stats()).last!;
  // "Lagging" is a slave that is back with its queue not yet delivered. cmd_queue would deliver
  // it soon after the sshd is back (a segment that found the slave down retries it within
  // seconds: SlaveWorker.nudge), and on a busy machine before --status looks: it is stopped
  // first. Nothing starts it again: no segment is archived after this (no archive_timeout).
  const pid = env.daemonPid();
  if (pid !== undefined) process.kill(pid, 'SIGTERM');
  await waitFor('cmd_queue gone', async () => env.daemonPid() === undefined);
  await env.slaves[1]!.sshd.start();
});

test("--status --json: healthy, lagging and dead slaves, the standby's own check, the slot", async () => {
  const r = await env.run(['-C', env.ini, '--status', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as ClusterStatus;
  const [ok, lagging, dead] = s.slaves as [ClusterStatus['slaves'][0], ClusterStatus['slaves'][0], ClusterStatus['slaves'][0]];
  assert.equal(ok.name, env.slaves[0]!.name);
  assert.equal(ok.reachable, true);
  assert.equal(ok.newestSegment, last);
  assert.equal(ok.compress, 'none');
  assert.equal(ok.queue.files, 0);
  assert.equal(ok.standby?.status, 'CRITICAL', 'its cmd_standby --check ran on the slave (no server runs there)');
  assert.match(ok.standby?.text ?? '', /the local server is not running/);
  assert.equal(lagging.reachable, true);
  assert.ok(lagging.queue.files >= 2, JSON.stringify(lagging.queue));
  assert.ok(lagging.newestSegment! < last, `${lagging.newestSegment} is behind ${last}`);
  assert.equal(dead.reachable, false);
  assert.match(dead.error ?? '', /refused/);
  assert.ok(dead.queue.files >= 2);
  assert.equal(s.state, 'CRITICAL');
  assert.match(s.master.lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);
  const slot = s.slots.find((x) => x.slotName === 'standby_x');
  assert.ok(slot && slot.active === false && (slot.heldBytes ?? 0) > 0, JSON.stringify(s.slots));
});

test('--status for people and --status --nagios for the whole cluster', async () => {
  const t = await env.run(['-C', env.ini, '--status']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^CRITICAL: .*unreachable/);
  assert.match(t.stdout, /^SLAVE +SSH +COMPRESS +NEWEST SEGMENT +QUEUE +STANDBY CHECK$/m);
  assert.match(t.stdout, new RegExp(`^${env.slaves[0]!.name} \\(.*\\) +up +none +${last} +empty +CRITICAL - the local server is not running`, 'm'));
  assert.match(t.stdout, new RegExp(`^${env.slaves[2]!.name} \\(.*\\) +DOWN: .*refused.* +\\d+ files, (\\d+ B|\\d+\\.\\d [KMG]iB)`, 'm'));
  assert.match(t.stdout, /^standby_x +physical +NO +[0-9A-F]+\/[0-9A-F]+ +(\d+ B|\d+\.\d [KMG]iB) +\w+/m);
  const n = await env.run(['-C', env.ini, '--status', '--nagios']);
  assert.equal(n.code, 2, n.stdout + n.stderr);
  assert.match(
    n.stdout,
    new RegExp(
      `^PITR_CLUSTER CRITICAL - .*${env.slaves[2]!.name} unreachable.* \\| .*'reachable_${env.slaves[2]!.name}'=0;;;0;1 .*'slot_held_standby_x'=\\d+B;;;0\\n$`,
    ),
  );
  const bad = await env.run(['-C', env.ini, '--nagios']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--nagios goes with --status/);
});

/**
 * Replication slots (use_replication_slots): -S creates this standby's physical slot on the real
 * master through SSH and streams through it; while the standby is stopped the master keeps its WAL
 * (restart_lsn stays, what the slot holds grows, a checkpoint removes nothing it needs); --check
 * reports every slot on the master, WARNING and CRITICAL past check_slot_*_bytes, naming the slot;
 * a second -S uses the slot it finds, refuses one another connection holds, warns when the master
 * cannot be reached; past max_slot_wal_keep_size the slot is lost (CRITICAL) and -S makes it anew;
 * -F999 leaves the promoted server with neither primary_slot_name
 * nor primary_conninfo in effect and no slot of its own name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runAction } from '../packages/standby/src/commands/action.js';
import { failover } from '../packages/standby/src/commands/failover.js';
import { startStandby } from '../packages/standby/src/commands/standby.js';
import { ensureStandbySlot, standbySlotName } from '../packages/standby/src/replication/standby-slot.js';
import { cleanupAll } from './rig/cleanup.js';
import { waitFor } from './rig/postgres.js';
import { ctxFor, initAndCopy, prepareMaster, runCmd, standbyEnv, type StandbyEnv, standbyQuery, waitOnStandby, writeIni } from './rig/standby-env.js';

let env: StandbyEnv;
let slot: string;
let base: Record<string, string>;

interface SlotJson {
  name: string;
  active: boolean;
  retainedBytes: number | null;
  restartLsn: string | null;
}
interface CheckJson {
  status: string;
  code: number;
  text: string;
  slots?: SlotJson[];
  ownSlot?: string;
}
async function check(extra: Record<string, string> = {}): Promise<CheckJson & { out: string }> {
  writeIni(env, { ...base, ...extra });
  try {
    const j = await runCmd(['-C', env.ini, '--check', '--json']);
    // The one Nagios JSON shape (core/nagios.ts): state and summary.
    const o = JSON.parse(j.stdout) as Omit<CheckJson, 'status' | 'text'> & { state: string; summary: string };
    assert.equal(j.code, o.code, j.stdout + j.stderr);
    return { ...o, status: o.state, text: o.summary, out: j.stdout };
  } finally {
    writeIni(env, base);
  }
}
const masterSlot = async (
  name: string,
): Promise<{ active: boolean; active_pid: number | null; restart_lsn: string | null; held: string; slot_type: string } | undefined> =>
  (
    await env.master.query(
      `SELECT active, active_pid, restart_lsn::text, slot_type,
      pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS held FROM pg_replication_slots WHERE slot_name = $1`,
      [name],
    )
  )[0] as never;

before(async () => {
  env = await standbyEnv({ archiver: 'cp', masterConf: { wal_keep_size: 0 } });
  base = {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'),
    pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    use_streaming_replication: 'on',
    repl_db_user: env.master.user,
    sslmode: 'disable',
    use_replication_slots: 'on',
  };
  writeIni(env, base);
  await prepareMaster(env, 'CREATE TABLE t (i int)');
  await initAndCopy(env);
});
after(cleanupAll);

describe('use_replication_slots', () => {
  test('-S creates the physical slot on the master, reserving WAL, and the standby streams through it', async () => {
    const ctx = ctxFor(env);
    slot = standbySlotName(ctx.config);
    assert.equal(await masterSlot(slot), undefined, 'no slot before -S');
    await startStandby(ctx, { iniPath: env.ini });
    const s = await masterSlot(slot);
    assert.equal(s?.slot_type, 'physical');
    assert.match(s?.restart_lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/, 'WAL reserved at once');
    assert.deepEqual(await standbyQuery(env, 'SHOW primary_slot_name'), [{ primary_slot_name: slot }]);
    assert.match(readFileSync(join(env.pgdata, 'pitrtools.conf'), 'utf8'), new RegExp(`^primary_slot_name = '${slot}'$`, 'm'));
    // The walsender streaming to this standby is the process holding the slot.
    await waitFor(
      'the slot held by the walsender',
      async () => {
        const rows = await env.master.query(
          `SELECT r.pid FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
         WHERE s.slot_name = $1 AND r.state = 'streaming'`,
          [slot],
        );
        return rows.length === 1;
      },
      60_000,
      200,
    );
    await env.master.query('INSERT INTO t VALUES (1)');
    await waitOnStandby(env, 'the streamed row', 'SELECT count(*)::int FROM t WHERE i = 1', 1, 30_000);
  });

  test('a slot another connection streams through is refused (two standbys, one slot_name); an unreachable master is a warning', async () => {
    // The running standby holds the slot: a second standby with the same name would be refused.
    await assert.rejects(
      ensureStandbySlot(ctxFor(env), { releaseWaitMs: 1000 }),
      (e: Error & { code?: string; hint?: string }) =>
        e.code === 'SLOT_IN_USE' && new RegExp(`"${slot}" .* is in use by another connection`).test(e.message) && /own slot_name/.test(e.hint ?? ''),
    );
    await env.sshd.stop();
    try {
      const ctx = ctxFor(env);
      assert.deepEqual(await ensureStandbySlot(ctx), { name: slot });
      assert.ok(
        ctx.log.messages.some(([l, m]) => l === 'WARNING' && m.startsWith(`cannot reach the master to create the replication slot "${slot}"`)),
        ctx.log.lines.join('\n'),
      );
    } finally {
      await env.sshd.start();
    }
  });

  test('--check names an abandoned slot on the master (CRITICAL past check_slot_warn_bytes) and an active one past it (WARNING)', async () => {
    await env.master.query("SELECT pg_create_physical_replication_slot('dead_standby', true)");
    try {
      await env.master.query('INSERT INTO t SELECT generate_series(1, 20000)');
      await env.master.query('SELECT pg_switch_wal()');
      const held = Number((await masterSlot('dead_standby'))!.held);
      assert.ok(held > 1024 * 1024, `dead_standby holds ${held} B`);
      const c = await check({ check_slot_warn_bytes: '1MB', check_slot_critical_bytes: '1TB' });
      assert.equal(c.status, 'CRITICAL', c.out);
      assert.match(c.text, /slot dead_standby \(inactive\) holds [\d.]+ MiB of WAL and nobody consumes it/);
      assert.match(c.text, new RegExp(`own slot ${slot} active, holds \\d+ B`));
      assert.equal(c.slots?.find((x) => x.name === 'dead_standby')?.active, false);
      // Under the limits the same slots are no problem (wait out any lag the writes caused).
      const ok = await waitFor(
        'an OK check',
        async () => {
          const r = await check();
          return r.status === 'OK' ? r : undefined;
        },
        60_000,
        500,
      );
      assert.match(ok.text, /2 slots on the master within limits/);
      // An active slot past the warning limit is a WARNING (0 bytes: ours always reaches it).
      const w = await check({ check_slot_warn_bytes: '0', check_slot_critical_bytes: '1TB' });
      assert.match(w.text, new RegExp(`slot ${slot} \\(active\\) holds \\d+ B of WAL \\(warning at 0 B\\)`));
      assert.match(w.text, /slot dead_standby \(inactive\) .*nobody consumes it/);
      assert.equal(w.status, 'CRITICAL', 'the inactive one still decides');
    } finally {
      await env.master.query("SELECT pg_drop_replication_slot('dead_standby')");
    }
    const w = await waitFor(
      'a WARNING check',
      async () => {
        const r = await check({ check_slot_warn_bytes: '0', check_slot_critical_bytes: '1TB' });
        return r.status === 'WARNING' ? r : undefined;
      },
      60_000,
      500,
    );
    assert.match(w.text, new RegExp(`slot ${slot} \\(active\\) holds \\d+ B of WAL \\(warning at 0 B\\)`));
  });

  let stoppedAt: string;
  test('with the standby stopped the master keeps its WAL, and --check reports the slot inactive with what it holds', async () => {
    await runAction(ctxFor(env), 'stop');
    const before = await waitFor(
      'the slot released',
      async () => {
        const s = await masterSlot(slot);
        return s && !s.active ? s : undefined;
      },
      30_000,
      200,
    );
    stoppedAt = before.restart_lsn!;
    await env.master.query('INSERT INTO t VALUES (-2)');
    await env.master.query('INSERT INTO t SELECT generate_series(1, 20000)');
    await env.master.query('SELECT pg_switch_wal()');
    await env.master.query('INSERT INTO t SELECT generate_series(1, 20000)');
    await env.master.query('SELECT pg_switch_wal()');
    await env.master.query('CHECKPOINT');
    const after = (await masterSlot(slot))!;
    assert.equal(after.restart_lsn, stoppedAt, 'restart_lsn stays while nobody consumes');
    assert.ok(Number(after.held) > Number(before.held) + 16 * 1024 * 1024, `held ${before.held} -> ${after.held}`);
    // + 1: pg_walfile_name() names the previous segment for an LSN on a segment boundary.
    const seg = String(await env.master.scalar('SELECT pg_walfile_name($1::pg_lsn + 1)', [stoppedAt]));
    assert.equal(Number(await env.master.scalar('SELECT count(*) FROM pg_ls_waldir() WHERE name = $1', [seg])), 1, `${seg} kept in pg_wal after a checkpoint`);
    const c = await check({ check_slot_warn_bytes: '16MB', check_slot_critical_bytes: '1TB' });
    assert.equal(c.status, 'CRITICAL', c.out);
    assert.match(c.text, /^the local server is not running/);
    assert.match(c.text, new RegExp(`own slot ${slot} INACTIVE, holds (\\d+) B`));
    assert.match(c.text, new RegExp(`slot ${slot} \\(inactive\\) holds [\\d.]+ MiB of WAL and nobody consumes it`));
    const own = c.slots?.find((x) => x.name === slot);
    assert.equal(own?.active, false);
    assert.ok((own?.retainedBytes ?? 0) >= Number(after.held), JSON.stringify(own));
    const st = await runCmd(['-C', env.ini, '--status']);
    assert.match(st.stdout, new RegExp(`^slot: {4}${slot} \\(this standby's\\): physical, inactive, holds [\\d.]+ MiB, wal_status \\w+`, 'm'));
  });

  test('-S again uses the slot it finds (WAL kept since the stop) and catches up through it', async () => {
    const ctx = ctxFor(env);
    await startStandby(ctx, { iniPath: env.ini });
    assert.ok(
      ctx.log.messages.some(([, m]) => m === `replication slot "${slot}" on the master: exists, keeping WAL from ${stoppedAt}`),
      ctx.log.lines.join('\n'),
    );
    await waitOnStandby(env, 'the row written while stopped', 'SELECT count(*)::int FROM t WHERE i = -2', 1, 60_000);
    await waitFor('the slot active again', async () => (await masterSlot(slot))?.active === true, 30_000, 200);
    await waitOnStandby(
      env,
      'the WAL receiver streaming through the slot',
      "SELECT slot_name FROM pg_stat_wal_receiver WHERE status = 'streaming'",
      slot,
      30_000,
    );
  });

  test('past max_slot_wal_keep_size the slot is lost: --check says CRITICAL, -S makes it anew and the archive fills the gap', async () => {
    await runAction(ctxFor(env), 'stop');
    await waitFor('the slot released', async () => (await masterSlot(slot))?.active === false, 30_000, 200);
    await env.master.setConf({ max_slot_wal_keep_size: '1MB' });
    await env.master.reload();
    try {
      await env.master.query('INSERT INTO t VALUES (-3)');
      await waitFor(
        'the slot lost',
        async () => {
          await env.master.query('INSERT INTO t SELECT generate_series(1, 1000)');
          await env.master.query('SELECT pg_switch_wal()');
          await env.master.query('CHECKPOINT');
          return String(await env.master.scalar('SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1', [slot])) === 'lost';
        },
        60_000,
        100,
      );
      const c = await check();
      assert.equal(c.status, 'CRITICAL', c.out);
      assert.match(c.text, new RegExp(`slot ${slot} \\(inactive\\) has lost WAL its consumer needed \\(wal_status lost`));
      const ctx = ctxFor(env);
      await startStandby(ctx, { iniPath: env.ini });
      assert.ok(
        ctx.log.messages.some(([l, m]) => l === 'WARNING' && m.startsWith(`the replication slot "${slot}" on the master had lost WAL`)),
        ctx.log.lines.join('\n'),
      );
      assert.match((await masterSlot(slot))?.restart_lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/, 'WAL reserved again');
      await waitOnStandby(env, 'the row written before the slot was lost', 'SELECT count(*)::int FROM t WHERE i = -3', 1, 60_000);
    } finally {
      await env.master.setConf({ max_slot_wal_keep_size: -1 });
      await env.master.reload();
    }
  });

  test('-F999: the promoted server streams through no slot, follows no master, and keeps no slot of its own name', async () => {
    // A slot of our name on the standby itself (as a cascading set-up or a copy may leave one).
    await standbyQuery(env, 'SELECT pg_create_physical_replication_slot($1)', [slot]);
    const ctx = ctxFor(env);
    await env.master.stop('immediate');
    const r = await failover(ctx, { iniPath: env.ini });
    assert.ok(r.timeline >= 2);
    assert.deepEqual(await standbyQuery(env, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
    assert.deepEqual(await standbyQuery(env, 'SHOW primary_slot_name'), [{ primary_slot_name: '' }]);
    assert.deepEqual(await standbyQuery(env, 'SHOW primary_conninfo'), [{ primary_conninfo: '' }]);
    assert.doesNotMatch(readFileSync(join(env.pgdata, 'pitrtools.conf'), 'utf8'), /primary_slot_name|primary_conninfo/);
    assert.deepEqual(await standbyQuery(env, 'SELECT slot_name FROM pg_replication_slots'), []);
    assert.ok(
      ctx.log.messages.some(([, m]) => m.startsWith(`dropped the replication slot "${slot}" on this server`)),
      ctx.log.lines.join('\n'),
    );
  });
});

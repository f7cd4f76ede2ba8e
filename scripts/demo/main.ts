/**
 * npm run demo: one machine plays a master and three standby hosts. Everything runs as the current
 * (unprivileged) user under one temporary directory, through the real commands, and is stopped
 * at the end — also on Ctrl-C or when a step fails — unless --keep is given.
 *
 *   node --import tsx scripts/demo/main.ts [--keep] [--pg 14|15|16|17|18] [--scale N]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, detachAll, onCleanup } from '../../test/rig/cleanup.js';
import { freePort } from '../../test/rig/ports.js';
import { startPostgres, switchWal, waitFor, type PgCluster } from '../../test/rig/postgres.js';
import { startSshd } from '../../test/rig/sshd.js';
import { alertHook, confFiles, standbyHost, writeIni, writeScript, type StandbyHost } from './files.js';
import { bold, green, note, run, setStepCount, step, type Command } from './runner.js';

const repo = new URL('../..', import.meta.url).pathname;
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const argValue = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
if (argValue('--pg')) process.env.PITR_PG_VERSION = argValue('--pg');
const scale = Number(argValue('--scale') ?? '10');
if (process.getuid?.() === 0) {
  console.error('demo: run it through `npm run demo` (it switches to an unprivileged user)');
  process.exit(2);
}

const root = mkdtempSync(join(tmpdir(), 'pitrtools-demo-'));
process.env.TMPDIR = root; // the rig's own temp dirs (sshd keys and config) land inside the demo dir
const tool = (bin: 'archiver' | 'standby', shown: string, argv: string[]): Command => ({
  shown: `cmd_${bin} ${shown}`,
  argv: [process.execPath, join(repo, `packages/${bin}/bin/cmd_${bin}.js`), ...argv],
  env: { NO_COLOR: '1' },
});
const PGBENCH = '/usr/lib/postgresql/15/bin/pgbench'; // a client: works against every major

async function sql(pg: { host: string; port: number; user: string }, text: string): Promise<Record<string, unknown>[]> {
  const { default: pgLib } = await import('pg');
  const c = new pgLib.Client({ host: pg.host, port: pg.port, user: pg.user, database: 'postgres' });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}
const at = (h: StandbyHost, user: string) => ({ host: h.socketDir, port: h.port, user });

async function main(): Promise<void> {
  setStepCount(16);
  console.log(bold(`pitrtools demo — everything lives in ${root}`));
  const { hook, log: alertLog } = alertHook(root);
  const failoverMark = join(root, 'failover-happened');
  const failoverAction = writeScript(join(root, 'failover.sh'), `date > '${failoverMark}'`);

  const [sshA, sshB, sshC] = await step('Start sshd for the three standby hosts (127.0.0.1, own host keys, keys only)', async () => {
    const a = await startSshd({ logLevel: 'INFO' });
    const b = await startSshd({ logLevel: 'INFO' });
    const c = await startSshd({ logLevel: 'INFO' });
    note(`standby host "hot"  → ssh 127.0.0.1:${a.port}   (also serves as the master's SSH for -B)`);
    note(`standby host "warm" → ssh 127.0.0.1:${c.port}   (a second streaming standby: it follows the new master)`);
    note(`standby host "cold" → ssh 127.0.0.1:${b.port}`);
    return [a, b, c] as const;
  });

  const master: PgCluster = await step(`Create the master and load pgbench data (scale ${scale})`, async () => {
    // wal_log_hints: the old master can be rewound with pg_rewind when it rejoins (step 16).
    const m = await startPostgres({
      name: 'master',
      parent: join(root, 'master'),
      conf: { archive_mode: 'on', archive_command: "''", wal_log_hints: 'on', wal_keep_size: "'128MB'" },
    });
    note(`PostgreSQL ${m.major} on port ${m.port}, data in ${m.pgdata}`);
    execFileSync(PGBENCH, ['-i', '-q', '-s', String(scale), '-h', m.socketDir, '-p', String(m.port), 'postgres'], { stdio: 'ignore' });
    return m;
  });

  const hot = standbyHost(root, 'hot', await freePort());
  const cold = standbyHost(root, 'cold', await freePort());
  const warm = standbyHost(root, 'warm', await freePort());
  const common = (h: StandbyHost, sshd: typeof sshA) => ({
    master_public_ip: '127.0.0.1',
    ssh_port: sshd.port,
    user: master.user,
    port: master.port,
    master_local_ip: '127.0.0.1',
    ssh_identity: sshA.clientKey,
    ssh_known_hosts: sshA.knownHostsFile,
    pgdata: h.pgdata,
    archivedir: h.archivedir,
    pg_ctl: join(master.bindir, 'pg_ctl'),
    logfile: h.logfile,
    ...confFiles(h),
    rsync_threads: 4,
    notify_ok: hook,
    notify_warning: hook,
    notify_critical: hook,
    action_failover: failoverAction,
  });
  writeIni(hot.ini, { ...common(hot, sshA), use_streaming_replication: 'on', repl_db_user: master.user, sslmode: 'disable' });
  writeIni(cold.ini, common(cold, sshA));
  writeIni(warm.ini, { ...common(warm, sshA), use_streaming_replication: 'on', repl_db_user: master.user, sslmode: 'disable' });
  const archIni = join(root, 'master', 'cmd_archiver.ini');
  const slaveA = `127.0.0.1:${sshA.port}`;
  const slaveB = `127.0.0.1:${sshB.port}`;
  const slaveC = `127.0.0.1:${sshC.port}`;
  writeIni(
    archIni,
    {
      pgdata: master.pgdata,
      l_archivedir: join(root, 'master', 'queue'),
      r_archivedir: hot.archivedir,
      slaves: `${slaveA}, ${slaveB}, ${slaveC}`,
      user: master.user,
      ssh_timeout: 5,
      notify_ok: hook,
      notify_warning: hook,
      notify_critical: hook,
    },
    {
      [slaveA]: { ssh_identity: sshA.clientKey, ssh_known_hosts: sshA.knownHostsFile },
      [slaveB]: { r_archivedir: cold.archivedir, ssh_identity: sshB.clientKey, ssh_known_hosts: sshB.knownHostsFile },
      [slaveC]: { r_archivedir: warm.archivedir, ssh_identity: sshC.clientKey, ssh_known_hosts: sshC.knownHostsFile },
    },
  );

  await step('Install the helper functions on the master (through SSH, from the standby)', async () => {
    await run(tool('standby', `-C ${hot.ini} --install-helpers`, ['-C', hot.ini, '--install-helpers']));
  });

  await step('Prepare the three standby hosts (cmd_standby -I)', async () => {
    for (const h of [hot, warm, cold]) await run(tool('standby', `-C ${h.ini} -I`, ['-C', h.ini, '-I']));
  });

  await step("Initialise the master's queues (cmd_archiver -I) and switch archiving on", async () => {
    const init = await run(tool('archiver', `-C ${archIni} -I`, ['-C', archIni, '-I']));
    // Use exactly the line -I prints, as a DBA would paste it into postgresql.conf.
    const printed = /archive_command = '(.+)'\s*$/m.exec(init.stdout)?.[1];
    if (!printed) throw new Error('cmd_archiver -I printed no archive_command line');
    const command = printed.replace(/''/g, "'");
    await sql({ host: master.socketDir, port: master.port, user: master.user }, `ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
    await sql({ host: master.socketDir, port: master.port, user: master.user }, 'SELECT pg_reload_conf()');
    note(`archive_command = '${command}'`);
  });

  await step('A burst of WAL: pgbench for 5 seconds, then every segment shipped to the three hosts', async () => {
    execFileSync(PGBENCH, ['-c', '2', '-T', '5', '-n', '-h', master.socketDir, '-p', String(master.port), 'postgres'], { stdio: 'ignore' });
    const seg = await switchWal(master);
    const st = await waitFor(
      'the archiver to catch up',
      async () => {
        const r = (
          await master.query<{ archived_count: string; failed_count: string; last_archived_wal: string | null }>('SELECT * FROM pg_stat_archiver')
        )[0]!;
        return (r.last_archived_wal ?? '') >= seg ? r : undefined;
      },
      120_000,
      200,
    );
    const count = (dir: string): number =>
      execFileSync('ls', [dir], { encoding: 'utf8' })
        .split('\n')
        .filter((n) => /^[0-9A-F]{24}$/.test(n)).length;
    note(`pg_stat_archiver: archived ${st.archived_count}, failed ${st.failed_count}; last ${st.last_archived_wal}`);
    note(`segments on "hot": ${count(hot.archivedir)}, on "warm": ${count(warm.archivedir)}, on "cold": ${count(cold.archivedir)}`);
  });

  await step('Base backup of the master onto the hot and warm standbys (cmd_standby -B)', async () => {
    for (const h of [hot, warm]) await run(tool('standby', `-C ${h.ini} -B`, ['-C', h.ini, '-B']), { live: true });
  });

  await step('Base backup onto the cold host (kept stopped for point-in-time recovery)', async () => {
    await run(tool('standby', `-C ${cold.ini} -B`, ['-C', cold.ini, '-B']), { live: true });
  });

  await step('Start the hot and warm standbys (cmd_standby -S: archive replay + streaming)', async () => {
    for (const h of [hot, warm, cold]) {
      onCleanup(
        `standby ${h.name}`,
        () => {
          execFileSync(join(master.bindir, 'pg_ctl'), ['-D', h.pgdata, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
        },
        () => {
          try {
            execFileSync(join(master.bindir, 'pg_ctl'), ['-D', h.pgdata, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
          } catch {
            /* not running */
          }
        },
      );
    }
    for (const h of [hot, warm]) await run(tool('standby', `-C ${h.ini} -S`, ['-C', h.ini, '-S']));
  });

  await step('Write a row on the master, read it on both standbys', async () => {
    const m = { host: master.socketDir, port: master.port, user: master.user };
    await sql(m, 'CREATE TABLE demo (msg text, at timestamptz DEFAULT clock_timestamp())');
    await sql(m, "INSERT INTO demo (msg) VALUES ('hello from the master')");
    for (const h of [hot, warm]) {
      const row = await waitFor(
        `the row on ${h.name}`,
        async () => {
          const rows = await sql(at(h, master.user), "SELECT msg, pg_is_in_recovery() AS standby FROM demo WHERE msg = 'hello from the master'").catch(
            () => [],
          );
          return rows[0];
        },
        60_000,
        200,
      );
      note(`"${h.name}" (in recovery: ${String(row.standby)}) reads: "${String(row.msg)}"`);
    }
  });

  const target = await step('Mark a point in time T between two rows on the master', async () => {
    const m = { host: master.socketDir, port: master.port, user: master.user };
    await sql(m, "INSERT INTO demo (msg) VALUES ('written before T')");
    const t = String((await sql(m, 'SELECT clock_timestamp()::text AS t'))[0]!.t);
    await sql(m, "INSERT INTO demo (msg) VALUES ('written after T')");
    const seg = await switchWal(master);
    await waitFor(
      'archiving of the last segment',
      async () => String(await master.scalar('SELECT last_archived_wal FROM pg_stat_archiver')) >= seg,
      60_000,
      100,
    );
    note(`T = ${t}`);
    return t;
  });

  await step('The master crashes (pg_ctl stop -m immediate)', async () => {
    // Both streaming standbys have replayed all the master wrote: neither is past the point where
    // the new master's timeline will fork, so "warm" can follow "hot" (step 14).
    // A record after the last WAL switch (replay positions never point into a switched-away segment's end).
    await master.query("SELECT pg_logical_emit_message(false, 'pitrtools-demo', 'before the crash')");
    const end = String(await master.scalar('SELECT pg_current_wal_insert_lsn()'));
    for (const h of [hot, warm]) {
      await waitFor(
        `${h.name} to replay ${end}`,
        async () => (await sql(at(h, master.user), `SELECT pg_last_wal_replay_lsn() >= '${end}'::pg_lsn AS ok`))[0]!.ok === true || undefined,
        60_000,
        100,
      );
    }
    await master.stop('immediate');
    note('the master is down without a shutdown checkpoint; its queue runner exits with it');
  });

  await step('Fail over to the hot standby (cmd_standby -F999)', async () => {
    await run(tool('standby', `-C ${hot.ini} -F999`, ['-C', hot.ini, '-F999']));
    await sql(at(hot, master.user), "INSERT INTO demo (msg) VALUES ('written on the new master')");
    const rows = await sql(
      at(hot, master.user),
      'SELECT pg_is_in_recovery() AS standby, substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli, count(*) AS n FROM demo',
    );
    note(`new master: in recovery ${String(rows[0]!.standby)}, timeline ${parseInt(String(rows[0]!.tli), 16)}, ${String(rows[0]!.n)} rows in demo`);
    note(`action_failover ran: ${existsSync(failoverMark) ? 'yes' : 'NO'}`);
  });

  await step('The warm standby follows the new master (cmd_standby --follow)', async () => {
    const shown = `-C ${warm.ini} --follow --master 127.0.0.1:${sshA.port} --master-port ${hot.port}`;
    await run(tool('standby', shown, ['-C', warm.ini, '--follow', '--master', `127.0.0.1:${sshA.port}`, '--master-port', String(hot.port)]));
    const row = await waitFor(
      "the new master's row on warm",
      async () => {
        const rows = await sql(
          at(warm, master.user),
          "SELECT msg, (SELECT sender_port FROM pg_stat_wal_receiver) AS port FROM demo WHERE msg = 'written on the new master'",
        ).catch(() => []);
        return rows[0];
      },
      60_000,
      200,
    );
    note(`"warm" streams from port ${String(row.port)} (the new master) and reads: "${String(row.msg)}"`);
  });

  await step('Point-in-time recovery of the cold copy to T (cmd_standby -F999 -R T)', async () => {
    await run(tool('standby', `-C ${cold.ini} -F999 -R '${target}'`, ['-C', cold.ini, '-F999', '-R', target]));
    const rows = await sql(at(cold, master.user), 'SELECT msg FROM demo ORDER BY at');
    note(`rows on the recovered copy: ${rows.map((r) => `"${String(r.msg)}"`).join(', ')}`);
    if (rows.some((r) => r.msg === 'written after T') || !rows.some((r) => r.msg === 'written before T'))
      throw new Error('the recovered copy does not stop at T');
  });

  const rejoinIni = join(root, 'master', 'cmd_standby.ini');
  await step('The old master comes back as a standby of the new one (cmd_standby --rejoin: pg_rewind, as it ran with wal_log_hints = on)', async () => {
    // The ini a DBA writes on the old master's host: its own data directory, the new master as master.
    mkdirSync(join(root, 'master', 'archive'), { mode: 0o700 });
    writeIni(rejoinIni, {
      master_public_ip: '127.0.0.1',
      ssh_port: sshA.port,
      user: master.user,
      port: hot.port,
      master_local_ip: '127.0.0.1',
      ssh_identity: sshA.clientKey,
      ssh_known_hosts: sshA.knownHostsFile,
      pgdata: master.pgdata,
      archivedir: join(root, 'master', 'archive'),
      pg_ctl: join(master.bindir, 'pg_ctl'),
      logfile: master.logFile,
      use_streaming_replication: 'on',
      repl_db_user: master.user,
      sslmode: 'disable',
      notify_ok: hook,
      notify_warning: hook,
      notify_critical: hook,
    });
    const r = await run(tool('standby', `-C ${rejoinIni} --rejoin`, ['-C', rejoinIni, '--rejoin']));
    // pg_rewind is there only for PostgreSQL 15 on this machine: on other majors --rejoin says why it took the delta -B.
    if (!/rewound with pg_rewind/.test(r.stdout)) note('no pg_rewind of this major here: --rejoin fell back to the delta base backup (-B), see above');
    await sql(at(hot, master.user), "INSERT INTO demo (msg) VALUES ('written on the new master after the rejoin')");
    const row = await waitFor(
      'the row on the old master',
      async () => {
        const rows = await sql(
          { host: master.socketDir, port: master.port, user: master.user },
          "SELECT msg, pg_is_in_recovery() AS standby FROM demo WHERE msg = 'written on the new master after the rejoin'",
        ).catch(() => []);
        return rows[0];
      },
      60_000,
      200,
    );
    note(`old master (in recovery: ${String(row.standby)}) reads: "${String(row.msg)}"`);
  });

  console.log(`\n${bold('Alerts the hooks received')} (${alertLog}):`);
  console.log(existsSync(alertLog) ? readFileSync(alertLog, 'utf8').trimEnd().replace(/^/gm, '  ') : '  (none)');
  console.log(
    `\n${green(bold('Demo complete:'))} WAL shipped to three hosts, standbys built, streamed, failed over, a standby following the new master, a cold copy recovered to T, and the old master back as a standby.`,
  );

  if (!keep) {
    console.log(`Next: ${bold('npm run demo -- --keep')} leaves the servers running to look around; README "Quick start on real hosts" sets it up for real.`);
  }
  if (keep) {
    detachAll();
    const pgCtl = join(master.bindir, 'pg_ctl');
    writeFileSync(
      join(root, 'demo.json'),
      JSON.stringify({ pgCtl, pgdata: [hot.pgdata, warm.pgdata, cold.pgdata, master.pgdata], sshd: [sshA.dir, sshB.dir, sshC.dir] }, null, 2),
    );
    console.log(`\n${bold('--keep: left running')}`);
    // The servers run as this process's user (npm run demo switches root to it): name it, or
    // psql run by root would log in as role "root", which does not exist.
    const psql = (h: { socketDir: string; port: number }): string => `psql -h ${h.socketDir} -p ${h.port} -U ${master.user} postgres`;
    console.log(`  new master (was the hot standby): ${psql(hot)}`);
    console.log(`  warm standby (follows it):        ${psql(warm)}`);
    console.log(`  old master (rejoined, a standby): ${psql(master)}`);
    console.log(`  recovered cold copy:              ${psql(cold)}`);
    console.log(`  configuration:                    ${archIni}, ${hot.ini}, ${warm.ini}, ${cold.ini}, ${rejoinIni}`);
    console.log(`  stop everything and remove it:    npm run demo -- --stop ${root}`);
  }
}

main().then(
  async () => {
    if (!keep) await cleanupAll();
    if (!keep) execFileSync('rm', ['-rf', root]);
    process.exit(0);
  },
  async (err: unknown) => {
    console.error(`\ndemo failed: ${(err as Error).message}`);
    if (!keep) console.error(`stopping everything the demo started (logs were in ${root})`);
    await cleanupAll();
    process.exit(1);
  },
);

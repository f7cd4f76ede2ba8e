// pitr-test: once
// pitr-test: long
/**
 * Under Patroni (docs/patroni.md): three Patroni nodes and one etcd, every node archiving with
 * cmd_archiver (archive_mode = always, set through Patroni's configuration) to one disaster-recovery
 * standby over the rig's sshd; replicas created by `cmd_standby --patroni-replica` (Patroni's
 * create_replica_method); the DR standby started with -S, archive replay only. Two leader changes
 * by kill -9, mid-segment (timelines 2 and 3): the DR standby has every row, follows each new
 * timeline, its archive has every segment of every timeline with no hole, and no alert fired although
 * up to three nodes shipped the same segments. Measured for the choice of archive_mode = always: the
 * first leader loses its link to the DR host before it dies, so its last segments die in its queue;
 * they reach the DR through the replicas (with archive_mode = on this test times out there). A
 * different copy of an archived segment is still a conflict (exit 4, critical alert). At the end the
 * whole cluster is gone and -F999 promotes the DR standby with every row.
 *
 * Pinned to PostgreSQL 15: Debian's patroni 3.0 knows the parameters of 9.3 to 15 only
 * (patroni/postgresql/validator.py), and 15 is the major whose server and client tools Debian has.
 */
process.env.PITR_PG_VERSION = '15';

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanupAll, onCleanup } from './rig/cleanup.js';
import { makePatroniNode, PATRONI_PG_BIN, requirePatroni, startEtcd, waitForLeader, type PatroniNode } from './rig/patroni.js';
import { waitFor } from './rig/postgres.js';
import { freePort } from './rig/ports.js';
import { startSshd } from './rig/sshd.js';
import { makeTempDir } from './rig/tmp.js';
import { runCmd } from './rig/standby-env.js';
import pg from 'pg';
import { shellQuote } from '../packages/core/src/ssh/quote.js';
import { commandArg } from '../packages/standby/src/recovery/render.js';

after(cleanupAll);

const repo = new URL('..', import.meta.url).pathname;
const FRONT_END = join(repo, 'packages/archiver/bin/cmd_archiver');
const CMD_STANDBY = join(repo, 'packages/standby/bin/cmd_standby.js');
const RECORDER = join(repo, 'test/rig/archiver-alert-recorder.mjs');
const SEG = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

function ini(file: string, lines: Record<string, string>): void {
  writeFileSync(
    file,
    `[DEFAULT]\n${Object.entries(lines)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
}

/** Segment number (log * 256 + seg, 16 MiB segments) of a 24-digit name, by timeline. */
function archived(dir: string): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const f of readdirSync(dir)) {
    const m = SEG.exec(f);
    if (!m) continue;
    const tli = parseInt(m[1]!, 16);
    if (!out.has(tli)) out.set(tli, new Set());
    out.get(tli)!.add(parseInt(m[2]!, 16) * 256 + parseInt(m[3]!, 16));
  }
  return out;
}

/** The segment number holding LSN `lsn` ('X/Y'). */
function segOf(lsn: string): number {
  const [hi, lo] = lsn.split('/').map((x) => parseInt(x, 16));
  return hi! * 256 + Math.floor(lo! / (16 * 1024 * 1024));
}

/** The last 16 hex digits of a segment name for segment number `n`. */
function segName(n: number): string {
  return `${Math.floor(n / 256)
    .toString(16)
    .toUpperCase()
    .padStart(8, '0')}${(n % 256).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Checks that the archive can carry a replay from segment 1 across every switch point up to `upTo` on the newest timeline. */
function assertNoHole(dir: string, newest: number, upTo: number): string {
  const segs = archived(dir);
  let from = 1;
  let tli = 1;
  const story: string[] = [];
  for (let t = 2; t <= newest; t++) {
    const hist = join(dir, `${t.toString(16).toUpperCase().padStart(8, '0')}.history`);
    assert.ok(existsSync(hist), `the DR archive holds ${hist}`);
    // Last line of the history file: "<parent tli>\t<switch lsn>\t<reason>".
    const last = readFileSync(hist, 'utf8').trim().split('\n').pop()!.split('\t');
    assert.equal(Number(last[0]), tli, `${hist} forks from timeline ${tli}`);
    const sw = segOf(last[1]!);
    // Before the switch segment the old timeline must be complete; from it on, the new one.
    for (let s = from; s < sw; s++) assert.ok(segs.get(tli)?.has(s), `timeline ${tli} segment ${s} is in the DR archive (switch to ${t} at ${last[1]})`);
    story.push(`TL${tli} ${from}..${sw - 1}`);
    from = sw;
    tli = t;
  }
  for (let s = from; s <= upTo; s++) assert.ok(segs.get(tli)?.has(s), `timeline ${tli} segment ${s} is in the DR archive`);
  story.push(`TL${tli} ${from}..${upTo}`);
  return story.join(', ');
}

test(
  'three Patroni nodes ship every segment to the DR standby across two leader changes; -F999 on the DR as the last resort',
  { timeout: 600_000 },
  async () => {
    requirePatroni();
    const dir = makeTempDir('pitr-patroni-').path;
    const sshd = await startSshd();
    const etcd = await startEtcd(dir);
    const drDir = join(dir, 'dr');
    const archive = join(drDir, 'archive');
    mkdirSync(archive, { recursive: true, mode: 0o700 });
    const alerts = join(dir, 'alerts.jsonl');
    const hook = (who: string, level: string): string => `${process.execPath} ${RECORDER} ${alerts} ${who} ${level}`;
    const ssh = { ssh_identity: sshd.clientKey, ssh_known_hosts: sshd.knownHostsFile, ssh_timeout: '5' };

    /** A node's cmd_archiver.ini: one slave, the DR host's sshd at `slavePort`. */
    const archiverIniFor = (name: string, slavePort: number): void => {
      const nd = join(dir, name);
      ini(join(nd, 'cmd_archiver.ini'), {
        pgdata: join(nd, 'data'),
        l_archivedir: join(nd, 'queue'),
        r_archivedir: archive,
        slaves: `127.0.0.1:${slavePort}`,
        ...ssh,
        queue_wait: '1',
        notify_ok: hook(name, 'OK'),
        notify_warning: hook(name, 'WARNING'),
        notify_critical: hook(name, 'CRITICAL'),
      });
    };
    // What Patroni runs on every node: the YAML of docs/patroni.md.
    const nodes: PatroniNode[] = [];
    for (const name of ['node1', 'node2', 'node3']) {
      const nd = join(dir, name);
      mkdirSync(nd, { mode: 0o700 });
      const archiverIni = join(nd, 'cmd_archiver.ini');
      mkdirSync(join(nd, 'queue'), { mode: 0o700 });
      archiverIniFor(name, sshd.port);
      const standbyIni = join(nd, 'cmd_standby.ini');
      // For --patroni-replica the master is the leader named by Patroni's --connstring; this is a placeholder.
      ini(standbyIni, {
        master_public_ip: 'patroni-leader',
        user: sshd.user,
        ssh_port: String(sshd.port),
        ...ssh,
        pgdata: join(nd, 'data'),
        archivedir: archive,
        rsync_threads: '2',
        notify_critical: hook(name, 'CRITICAL'),
      });
      nodes.push(
        await makePatroniNode({
          scope: 'pitr-demo',
          name,
          dir: nd,
          etcd,
          dcsParameters: { archive_mode: 'always', wal_level: 'replica', max_wal_senders: 10, max_replication_slots: 10, wal_keep_size: '128MB' },
          // PostgreSQL runs archive_command and restore_command through sh after replacing %-escapes
          // (commandArg: sh quoting, % doubled); Patroni splits the method's command with shlex (sh quoting).
          parameters: { archive_command: `${[FRONT_END, '-C', archiverIni, '-F'].map(commandArg).join(' ')} %p` },
          recoveryConf: { restore_command: `${[process.execPath, CMD_STANDBY, '-C', standbyIni, '--restore'].map(commandArg).join(' ')} %f %p` },
          replicaMethods: {
            methods: ['pitrtools'],
            sections: {
              pitrtools: {
                command: [process.execPath, CMD_STANDBY, '--patroni-replica', '-C', standbyIni].map(shellQuote).join(' '),
                keep_data: 'false',
              },
            },
          },
        }),
      );
    }
    const [n1, n2, n3] = nodes as [PatroniNode, PatroniNode, PatroniNode];
    n1.start();
    assert.equal(await waitForLeader([n1]), n1);
    // Our helper functions on the leader (as Patroni's post_bootstrap could do): -B and --patroni-replica use them.
    const { connectPg } = await import('../packages/core/src/pg/client.js');
    const { installHelpers } = await import('../packages/core/src/pg/helpers.js');
    const s = await connectPg({ host: n1.socketDir, port: n1.pgPort, user: sshd.user, database: 'postgres' });
    try {
      await installHelpers(s);
      await s.query('CREATE TABLE t (i int, what text)');
    } finally {
      await s.end();
    }

    for (const n of [n2, n3]) {
      n.start();
      let failed: string | undefined;
      await waitFor(
        `${n.name} streaming from the leader`,
        async () => {
          // Our method failing is the answer, not something to wait out.
          failed = /.*Error creating replica using method pitrtools.*/.exec(existsSync(n.logFile) ? readFileSync(n.logFile, 'utf8') : '')?.[0];
          if (failed !== undefined) return true;
          const st = await n.status();
          return (
            st?.role === 'replica' &&
            st.state === 'running' &&
            Number(
              (await n1.query<{ c: string }>("SELECT count(*) AS c FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", [n.name]))[0]!
                .c,
            ) === 1
          );
        },
        180_000,
        500,
      );
      assert.equal(failed, undefined, `${n.name}: Patroni could not create the replica with our method:\n${readFileSync(n.logFile, 'utf8').slice(-3000)}`);
      // Made by our method: Patroni says so, and the copy carries -B's record of its start.
      assert.match(readFileSync(n.logFile, 'utf8'), /replica has been created using pitrtools/);
      assert.ok(existsSync(join(n.pgdata, 'pitrtools.backup')), `${n.name}'s data directory was copied by cmd_standby --patroni-replica`);
    }

    // The DR standby, outside Patroni: -I, -B from the leader, -S archive replay only.
    const drPort = await freePort();
    const drSock = join(drDir, 'sock');
    mkdirSync(drSock, { mode: 0o700 });
    writeFileSync(
      join(drDir, 'postgresql.conf'),
      [
        `port = ${drPort}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${drSock}'`,
        'shared_buffers = 32MB',
        "log_line_prefix = '%m [%p] '",
        'wal_level = replica',
        'max_wal_senders = 10',
        '',
      ].join('\n'),
    );
    writeFileSync(join(drDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    const drIni = join(drDir, 'cmd_standby.ini');
    ini(drIni, {
      master_public_ip: '127.0.0.1',
      user: sshd.user,
      port: String(n1.pgPort),
      ssh_port: String(sshd.port),
      ...ssh,
      pgdata: join(drDir, 'data'),
      archivedir: archive,
      pg_ctl: join(PATRONI_PG_BIN, 'pg_ctl'),
      logfile: join(drDir, 'dr.log'),
      pg_conf: join(drDir, 'postgresql.conf'),
      pg_hba_conf: join(drDir, 'pg_hba.conf'),
      rsync_threads: '2',
    });
    const stopDr = (): void => {
      spawnSyncPgCtl(join(drDir, 'data'));
    };
    onCleanup('the DR standby', stopDr, stopDr);
    for (const a of ['-I', '-B', '-S']) {
      const r = await runCmd(['-C', drIni, a]);
      assert.equal(r.code, 0, `DR ${a}: ${r.stderr}`);
    }
    const dr = async (sql: string): Promise<Record<string, unknown>[]> => {
      const c = new pg.Client({ host: drSock, port: drPort, user: sshd.user, database: 'postgres' });
      await c.connect();
      try {
        return (await c.query(sql)).rows as Record<string, unknown>[];
      } finally {
        await c.end();
      }
    };
    let written = 0;
    /** Rows on the leader, then its segment switched and archived; waits until the DR standby has them all. */
    const writeAndReplay = async (leader: PatroniNode, what: string): Promise<string> => {
      for (let k = 0; k < 3; k++) {
        await leader.query(`INSERT INTO t SELECT g, $1 FROM generate_series(${written + 1}, ${written + 100}) g`, [what]);
        written += 100;
        await leader.query('SELECT pg_switch_wal()');
      }
      const seg = String((await leader.query<{ s: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS s'))[0]!.s);
      await leader.query('SELECT pg_switch_wal()');
      await waitFor(`the DR standby to replay ${written} rows`, async () => Number((await dr('SELECT count(*) AS c FROM t'))[0]!.c) === written, 180_000, 500);
      return seg;
    };
    /**
     * Last words: rows in a segment that is not complete, so the leader never archives it; waits
     * until every replica has them, then the leader's host dies. They reach the DR standby only
     * through the next leader's first segment of the new timeline (the switch point is mid-segment).
     */
    const lastWordsThenKill = async (leader: PatroniNode, replicas: PatroniNode[]): Promise<void> => {
      await leader.query(`INSERT INTO t SELECT g, 'last words' FROM generate_series(${written + 1}, ${written + 50}) g`);
      written += 50;
      const lsn = String((await leader.query<{ l: string }>('SELECT pg_current_wal_flush_lsn()::text AS l'))[0]!.l);
      await waitFor(
        'every replica to have the last words',
        async () =>
          Number(
            (
              await leader.query<{ c: string }>('SELECT count(*) AS c FROM pg_stat_replication WHERE flush_lsn >= $1::pg_lsn AND application_name = ANY($2)', [
                lsn,
                replicas.map((r) => r.name),
              ])
            )[0]!.c,
          ) === replicas.length,
        60_000,
        200,
      );
      await leader.kill9();
    };
    const noAlerts = (): void => {
      const got = existsSync(alerts) ? readFileSync(alerts, 'utf8').trim() : '';
      assert.equal(got, '', 'no notify_* hook ran (no conflict, no failure) although several nodes shipped the same segments');
    };

    await writeAndReplay(n1, 'timeline 1');
    // The replicas archive too (archive_mode = always): the same names, the same bytes, no failure.
    for (const n of [n2, n3]) {
      await waitFor(
        `${n.name} to have archived segments itself`,
        async () => Number((await n.query<{ c: string }>('SELECT archived_count AS c FROM pg_stat_archiver'))[0]!.c) > 0,
        60_000,
        500,
      );
      assert.equal(Number((await n.query<{ f: string }>('SELECT failed_count AS f FROM pg_stat_archiver'))[0]!.f), 0, `${n.name}: no archive_command failed`);
    }

    // The leader loses its link to the DR host: what it archives from now on waits in its own queue
    // (l_archivedir, on its own disk), which dies with it below. Measured: those segments reach the
    // DR standby all the same, shipped by the replicas (archive_mode = always); with archive_mode = on
    // the replicas mark what they receive as done and nobody would ever ship them.
    archiverIniFor('node1', await freePort());
    const shippedBefore = new Set(readdirSync(archive));
    await writeAndReplay(n1, 'timeline 1, shipped by the replicas only');
    // PostgreSQL's archiver works behind the writes: wait until it has queued what was written.
    const queuedNow = (): string[] =>
      readdirSync(join(n1.dir, 'queue'), { recursive: true })
        .map(String)
        .map((f) => f.split('/').pop()!)
        .filter((f) => SEG.test(f));
    const queued = await waitFor(
      'the leader to queue what it cannot ship',
      async () => (queuedNow().length >= 3 ? queuedNow() : undefined),
      120_000,
      500,
    ).catch(() => queuedNow());
    const newSegs = readdirSync(archive).filter((f) => SEG.test(f) && !shippedBefore.has(f));
    assert.ok(queued.length >= 3, `the leader queued what it could not ship: ${queued.join(', ')}`);
    // The replicas archive what they received behind their own replay: wait for them, then check each.
    await waitFor('the queued segments in the DR archive', async () => queued.every((f) => existsSync(join(archive, f))), 120_000, 500).catch(() => undefined);
    for (const f of queued) assert.ok(existsSync(join(archive, f)), `${f}, stuck in the dead leader's queue, is in the DR archive`);
    console.log(`# segments stuck in the old leader's queue: ${queued.sort().join(', ')}; all in the DR archive (new there: ${newSegs.length})`);
    const outage = readFileSync(alerts, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { args: string[]; env: Record<string, string> });
    assert.ok(
      outage.length > 0 &&
        outage.every((a) => a.args[0] === 'node1' && ['slave_unreachable', 'slave_still_unreachable', 'archiving_offline'].includes(a.env.PITR_EVENT ?? '')),
      `only the leader's outage was alerted: ${JSON.stringify(outage.map((a) => [a.args[0], a.env.PITR_EVENT]))}`,
    );
    writeFileSync(alerts, '');

    // First leader change: the host of the leader dies.
    await lastWordsThenKill(n1, [n2, n3]);
    const l2 = await waitForLeader([n2, n3]);
    const seg2 = await writeAndReplay(l2, 'timeline 2');
    assert.match(seg2, /^00000002/, 'the new leader writes timeline 2');
    assert.match(readFileSync(join(drDir, 'dr.log'), 'utf8'), /new target timeline is 2/);
    const upTo2 = parseInt(seg2.slice(8, 16), 16) * 256 + parseInt(seg2.slice(16), 16);
    console.log(`# DR archive after the first leader change: ${assertNoHole(archive, 2, upTo2)}`);
    // The promoted node archived the old timeline's last segment as .partial (PostgreSQL does, at
    // promotion); a follower may ship the same segment under its full name: the same bytes.
    const tl1Tail = readFileSync(join(archive, '00000002.history'), 'utf8').trim().split('\t')[1]!;
    const tailName = `00000001${segName(segOf(tl1Tail))}`;
    assert.ok(existsSync(join(archive, `${tailName}.partial`)), `the old timeline's last segment is in the DR archive as ${tailName}.partial`);
    if (existsSync(join(archive, tailName)))
      assert.ok(readFileSync(join(archive, tailName)).equals(readFileSync(join(archive, `${tailName}.partial`))), `${tailName} from a follower = the .partial`);
    noAlerts();

    // Second leader change: the new leader dies too; the last node takes over on timeline 3.
    const rest = [n2, n3].filter((n) => n !== l2);
    await lastWordsThenKill(l2, rest);
    const l3 = await waitForLeader(rest);
    const seg3 = await writeAndReplay(l3, 'timeline 3');
    assert.match(seg3, /^00000003/, 'the last leader writes timeline 3');
    assert.match(readFileSync(join(drDir, 'dr.log'), 'utf8'), /new target timeline is 3/);
    const upTo3 = parseInt(seg3.slice(8, 16), 16) * 256 + parseInt(seg3.slice(16), 16);
    console.log(`# DR archive after the second leader change: ${assertNoHole(archive, 3, upTo3)}`);
    noAlerts();

    // A node shipping a segment the DR archive already holds, with other bytes (here: the dead old
    // leader's pg_wal, changed, as PostgreSQL would run archive_command there): a conflict, exit 4 and
    // a critical alert; the archived copy stays.
    const held = `00000001${segName(segOf(tl1Tail) - 1)}`;
    const archivedBytes = readFileSync(join(archive, held));
    const other = Buffer.from(archivedBytes);
    other[other.length - 1] = other[other.length - 1]! ^ 0xff;
    writeFileSync(join(n1.pgdata, 'pg_wal', held), other, { mode: 0o600 });
    writeFileSync(join(n1.pgdata, 'pg_wal', 'archive_status', `${held}.ready`), '', { mode: 0o600 });
    const conflict = spawnSync(FRONT_END, ['-C', join(n1.dir, 'cmd_archiver.ini'), '-F', `pg_wal/${held}`], { cwd: n1.pgdata, encoding: 'utf8' });
    assert.equal(conflict.status, 4, `a different ${held} is a conflict (exit 4): ${conflict.stderr}`);
    const raised = readFileSync(alerts, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { args: string[] });
    assert.ok(
      raised.some((a) => a.args[0] === 'node1' && a.args[1] === 'CRITICAL' && a.args.join(' ').includes(held)),
      JSON.stringify(raised),
    );
    assert.ok(readFileSync(join(archive, held)).equals(archivedBytes), 'the archived copy was not replaced');
    writeFileSync(alerts, '');

    // The whole cluster gone: -F999 on the DR standby, which becomes a read-write master with every row.
    await l3.kill9();
    const f = await runCmd(['-C', drIni, '-F999']);
    assert.equal(f.code, 0, f.stderr);
    assert.equal((await dr('SELECT pg_is_in_recovery() AS r'))[0]!.r, false);
    assert.equal(Number((await dr('SELECT count(*) AS c FROM t'))[0]!.c), written);
    await dr("INSERT INTO t VALUES (0, 'after the failover')");
    noAlerts();
  },
);

function spawnSyncPgCtl(pgdata: string): void {
  if (existsSync(join(pgdata, 'postmaster.pid')))
    spawnSync(join(PATRONI_PG_BIN, 'pg_ctl'), ['-D', pgdata, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
}

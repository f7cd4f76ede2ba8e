// pitr-test: ends
// pitr-test: long
/**
 * Life after a failover on three "hosts" (issue 11, parts 1, 2 and 6): M fails; -F999 on S1 ships
 * timeline 2 (its .history and segments) to S2 and S3 with no manual step (archiver_config);
 * --follow re-points S2 (streaming) and S3 (archive-only) at S1 and rows written on S1 arrive;
 * --check on S2 names S1 as its master; the notify hook saw failover_done and follow_done. Then
 * S1 fails too after S2 streamed a row S3 never had: S3 is promoted (timeline 3, forked before that
 * row) and --follow on S2 towards S3 refuses: a rejoin is needed (exit 1, the command named).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { cleanupAll } from './rig/cleanup.js';
import { clusterEnv, waitArchived, type ClusterEnv } from './rig/cluster-env.js';
import { SWITCH_WAL_SQL, waitFor } from './rig/postgres.js';
import { runCmd } from './rig/standby-env.js';

let env: ClusterEnv;
before(async () => {
  env = await clusterEnv({ standbys: [{ name: 's1' }, { name: 's2' }, { name: 's3', streaming: false }] });
});
after(cleanupAll);

const lsn = (l: string): bigint => {
  const [h, x] = l.split('/');
  return (BigInt(`0x${h}`) << 32n) | BigInt(`0x${x}`);
};

describe('after M fails', () => {
  test('-F999 on S1 archives timeline 2 (.history and segments) to S2 and S3 with no manual step', async () => {
    const [s1, s2, s3] = env.nodes as [ClusterEnv['nodes'][0], ClusterEnv['nodes'][0], ClusterEnv['nodes'][0]];
    await env.writeAndWait('M', [s1, s2], 1);
    await env.master.query('SELECT pg_switch_wal()');
    await env.waitFor(s3, 'row 1 (archive)', 'SELECT count(*)::int FROM t WHERE i = 1', 1);
    // Both streaming standbys have replayed all M wrote, so neither is past the point S1 forks at.
    const end = String(await env.master.scalar('SELECT pg_current_wal_insert_lsn()'));
    for (const n of [s1, s2]) {
      await waitFor(
        `${n.name} to replay ${end}`,
        async () => lsn(String((await env.query<{ l: string }>(n, 'SELECT pg_last_wal_replay_lsn()::text AS l'))[0]!.l)) >= lsn(end),
        60_000,
        100,
      );
    }
    await env.master.stop('immediate');
    const r = await runCmd(['-C', s1.ini, '-F999']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Failover finished: read-write on timeline 2/m);
    assert.match(r.stderr, /archiving is on: archive_command = '.*cmd_archiver -C .*s1\/cmd_archiver\.ini -F %p'/);
    await env.query(s1, 'INSERT INTO t VALUES (2)');
    const seg = String((await env.query<{ w: string }>(s1, `${SWITCH_WAL_SQL} AS w`))[0]!.w);
    assert.match(seg, /^00000002/);
    for (const n of [s2, s3]) {
      const files = await waitArchived(n, `00000002.history and ${seg}`, (f) => f.includes('00000002.history') && f.includes(seg));
      assert.equal(readFileSync(`${n.archivedir}/00000002.history`, 'utf8'), readFileSync(`${s1.pgdata}/pg_wal/00000002.history`, 'utf8'));
      assert.ok(
        files.some((f) => f.startsWith('00000001')),
        files.join(' '),
      );
    }
  });

  test('--follow on S2 (streaming): it streams from S1, a row written on S1 appears, --check names S1', async () => {
    const s1 = env.node('s1');
    const s2 = env.node('s2');
    const r = await runCmd(['-C', s2.ini, '--follow', '--master', `${s1.host}:${env.sshd.port}`, '--master-port', String(s1.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^Following the new master \\(PostgreSQL 127\\.0\\.0\\.1:${s1.port} via ssh .*@${s1.host.replace(/\./g, '\\.')}:${env.sshd.port}\\) on timeline 2, streaming\\.$`,
        'm',
      ),
    );
    const rows = await env.query<{ status: string; sender_host: string; sender_port: number }>(
      s2,
      'SELECT status, sender_host, sender_port FROM pg_stat_wal_receiver',
    );
    assert.deepEqual(rows, [{ status: 'streaming', sender_host: s1.host, sender_port: s1.port }]);
    await env.writeAndWait(s1, [s2], 3);
    const ini = readFileSync(s2.ini, 'utf8');
    assert.match(ini, new RegExp(`^master_public_ip: ${s1.host}$`, 'm'));
    assert.match(ini, new RegExp(`^port: ${s1.port}$`, 'm'));
    const c = await runCmd(['-C', s2.ini, '--check', '--json']);
    const o = JSON.parse(c.stdout) as { master: string; inRecovery: boolean; masterLsn?: string };
    assert.equal(o.master, `PostgreSQL 127.0.0.1:${s1.port} via ssh ${env.sshd.user}@${s1.host}:${env.sshd.port}`);
    assert.equal(o.inRecovery, true);
    assert.equal(typeof o.masterLsn, 'string', c.stdout);
  });

  test('--follow on S3 (archive-only): it restores timeline 2 and gets the rows written on S1', async () => {
    const s1 = env.node('s1');
    const s3 = env.node('s3');
    const r = await runCmd(['-C', s3.ini, '--follow', '--master', `${s1.host}:${env.sshd.port}`, '--master-port', String(s1.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /on timeline 2, restoring from archivedir\.$/m);
    await env.query(s1, 'SELECT pg_switch_wal()');
    await env.waitFor(s3, 'row 3 (archive)', 'SELECT count(*)::int FROM t WHERE i = 3', 1);
  });

  test('the notify hook saw failover_done (S1) and follow_done (S2, S3)', () => {
    const events = env.alerts().map((a) => `${a.env.PITR_EVENT} ${a.env.PITR_LEVEL}`);
    assert.equal(events.filter((e) => e === 'failover_done OK').length, 1, events.join(', '));
    assert.equal(events.filter((e) => e === 'follow_done OK').length, 2, events.join(', '));
  });
});

describe('a standby that replayed past the fork', () => {
  test('--follow refuses: a rejoin is needed, exit 1, the command named; the standby keeps running unchanged', async () => {
    const s1 = env.node('s1');
    const s2 = env.node('s2');
    const s3 = env.node('s3');
    const stop = await runCmd(['-C', s3.ini, '-A', 'stop']);
    assert.equal(stop.code, 0, stop.stderr);
    // S2 streams row 4; S3 is down and the segment holding it is never archived (S1 dies first).
    await env.writeAndWait(s1, [s2], 4);
    env.crash(s1);
    const f = await runCmd(['-C', s3.ini, '-F999']);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /read-write on timeline 3/);
    await waitArchived(s2, '00000003.history', (files) => files.includes('00000003.history'));
    const iniBefore = readFileSync(s2.ini, 'utf8');
    const r = await runCmd(['-C', s2.ini, '--follow', '--master', `${s3.host}:${env.sshd.port}`, '--master-port', String(s3.port)]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /ERROR: a rejoin is needed: this standby has replayed timeline 2 up to [0-9A-F]+\/[0-9A-F]+, past [0-9A-F]+\/[0-9A-F]+, where the new master's timeline forked off it/,
    );
    assert.ok(r.stderr.includes(`cmd_standby -C ${s2.ini} --rejoin`), r.stderr);
    assert.equal(readFileSync(s2.ini, 'utf8'), iniBefore, 'the ini still names S1');
    assert.deepEqual(await env.query(s2, 'SELECT pg_is_in_recovery() AS r, count(*)::int AS n FROM t WHERE i = 4'), [{ r: true, n: 1 }]);
    // Stopped: --follow starts it to see where it is, refuses the same way, and leaves it stopped and pointing at S1.
    const stop2 = await runCmd(['-C', s2.ini, '-A', 'stop']);
    assert.equal(stop2.code, 0, stop2.stderr);
    const again = await runCmd(['-C', s2.ini, '--follow', '--master', `${s3.host}:${env.sshd.port}`, '--master-port', String(s3.port)]);
    assert.equal(again.code, 1, again.stdout + again.stderr);
    // PostgreSQL refuses to start on timeline 3 from a minimum recovery point past its fork: --follow says what that means.
    assert.match(
      again.stderr,
      /ERROR: a rejoin is needed: this standby has replayed timeline 2 up to [0-9A-F]+\/[0-9A-F]+ \(its minimum recovery point\), which timeline 3 of the new master does not contain/,
    );
    assert.ok(again.stderr.includes(`cmd_standby -C ${s2.ini} --rejoin`), again.stderr);
    assert.ok(!existsSync(`${s2.pgdata}/postmaster.pid`), 'stopped again');
    assert.match(
      readFileSync(`${s2.pgdata}/pitrtools.conf`, 'utf8'),
      new RegExp(`^primary_conninfo = 'host=${s1.host.replace(/\./g, '\\.')} port=${s1.port} `, 'm'),
    );
    assert.equal(readFileSync(s2.ini, 'utf8'), iniBefore);
  });
});

describe('-F999 with archiver_config refuses before promoting', () => {
  test('an archiver_config of another pgdata, and archive_mode off: exit 2 with the fix, still a standby', async () => {
    const s1 = env.node('s1');
    const s2 = env.node('s2'); // stopped by the test above
    const ini = readFileSync(s2.ini, 'utf8');
    writeFileSync(s2.ini, ini.replace(/^archiver_config: .*$/m, `archiver_config: ${s1.archiverIni}`));
    const wrong = await runCmd(['-C', s2.ini, '-F999']);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(
      wrong.stderr,
      new RegExp(`ERROR: .*cmd_standby\\.ini: archiver_config names ${s1.archiverIni}, whose pgdata is ${s1.pgdata}, not this standby's pgdata ${s2.pgdata}`),
    );
    writeFileSync(s2.ini, ini);
    const conf = `${s2.dir}/conf/postgresql.conf`;
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}archive_mode = off\n`);
    const off = await runCmd(['-C', s2.ini, '-F999']);
    assert.equal(off.code, 2, off.stderr);
    assert.match(off.stderr, /ERROR: refusing to fail over: archiver_config is set but archive_mode is off .*nothing was promoted/);
    assert.match(off.stderr, /HINT: set archive_mode = on in pg_conf \(a standby does not archive until it is promoted\)/);
    assert.ok(existsSync(`${s2.pgdata}/standby.signal`));
    assert.ok(!existsSync(`${s2.pgdata}/postmaster.pid`), 'the server was not started');
  });
});

// pitr-test: ends
// pitr-test: long
/**
 * PostgreSQL's own archiver driving cmd_archiver into three real sshd slaves: a burst arrives
 * byte-identical everywhere, nearly all of it answered by the sh front end from cmd_queue's
 * proof markers without starting Node.js; cmd_queue killed -9 in the middle of a burst costs
 * nothing (the slow path does the job itself and starts a new one); and the per-segment cost of
 * the three paths is measured.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256File, startArchiverEnv, type ArchiverEnv, CMD_QUEUE, FRONT_END } from './rig/archiver-env.js';
import { cleanupAll } from './rig/cleanup.js';
import { makeSegments, waitFor } from './rig/postgres.js';

after(cleanupAll);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

let env: ArchiverEnv;
before(async () => {
  env = await startArchiverEnv({ name: 'burst', slaves: 3, ini: { debug: 'on' } });
});

/** Segments archived so far, read from pg_wal/archive_status (.done). */
function doneSegments(): string[] {
  return env.walFiles(join(env.pg.pgdata, 'pg_wal')).filter((n) => {
    try {
      readFileSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${n}.done`));
      return true;
    } catch {
      return false;
    }
  });
}

/** Every archived segment is on every slave, byte for byte as in pg_wal. */
function assertEverywhere(names: string[]): void {
  for (const name of names) {
    const want = sha256File(join(env.pg.pgdata, 'pg_wal', name));
    for (const s of env.slaves) assert.equal(sha256File(join(s.rdir, name)), want, `${name} on ${s.name}`);
  }
}

async function burst(n: number, during?: (archived: number) => Promise<void> | void): Promise<{ names: string[]; ms: number }> {
  const before = await env.stats();
  const t0 = performance.now();
  let fired = false;
  const making = makeSegments(env.pg, n);
  await waitFor(
    `${n} more archived segments`,
    async () => {
      const s = await env.stats();
      if (during && !fired && s.archived - before.archived >= 5) {
        fired = true;
        await during(s.archived);
      }
      return s.archived - before.archived >= n;
    },
    120_000,
    20,
  );
  await making;
  const ms = performance.now() - t0;
  const after = await env.stats();
  assert.equal(after.failed, before.failed, 'pg_stat_archiver failed_count did not grow');
  return { names: doneSegments().slice(-n), ms };
}

describe('a burst under PostgreSQL', () => {
  test('24 segments: byte-identical on all 3 slaves, failed_count 0, nearly all answered by the sh front end alone', async () => {
    assert.equal(env.daemonPid(), undefined, 'no cmd_queue before the first segment');
    const { names, ms } = await burst(24);
    assert.equal(names.length, 24);
    assertEverywhere(names);
    assert.equal((await env.stats()).failed, 0);
    const log = readFileSync(join(env.lArchivedir, 'cmd_queue.log'), 'utf8');
    const proved = names.filter((n) => log.includes(`${n}: proof marker written`));
    // Node.js ran for a segment only on the slow path: the first ones, before cmd_queue was up.
    const slow = names.filter((n) => env.nodeStarts().some((a) => a.endsWith(` -F pg_wal/${n}`)));
    assert.ok(env.daemonPid() !== undefined, 'cmd_archiver started cmd_queue');
    assert.ok(slow.length <= 4, `Node.js started for ${slow.length} of 24 segments: ${slow.join(' ')}`);
    assert.ok(proved.length >= 20, `${proved.length} of 24 proved by cmd_queue`);
    for (const s of env.slaves) assert.deepEqual(env.walFiles(join(env.lArchivedir, s.name)), [], 'nothing queued');
    console.log(
      `burst of 24 x 16 MiB to 3 slaves under PostgreSQL: ${ms.toFixed(0)} ms (${(ms / 24).toFixed(0)} ms per segment; ` +
        `${24 - slow.length} answered by the sh front end alone, ${slow.length} by Node.js)`,
    );
  });

  test('cmd_queue killed -9 mid-burst: every segment still archived (no failure), a new cmd_queue takes over', async () => {
    const first = env.daemonPid();
    assert.ok(first !== undefined, 'cmd_queue runs');
    const { names } = await burst(20, () => {
      process.kill(first!, 'SIGKILL');
    });
    assertEverywhere(names);
    const next = await waitFor('a new cmd_queue', async () => {
      const p = env.daemonPid();
      return p !== undefined && p !== first ? p : undefined;
    });
    assert.notEqual(next, first);
    const log = readFileSync(env.pg.logFile, 'utf8');
    assert.doesNotMatch(log, /archive command failed/);
  });
});

/** Segments timed per path: a median of 5 (the figures are printed, never asserted; bench/ measures speed). */
const TIMED = 5;

describe('per-segment cost (diagnostic figures; the assertions are about correctness)', () => {
  test('warm path (segment shipped ahead) vs standalone cmd_archiver', async () => {
    // Let .ready files pile up (archive_command empty pauses archiving), let cmd_queue ship them
    // ahead, then play PostgreSQL's part by hand, timing each cmd_archiver process.
    await env.pg.setConf({ archive_command: "''" });
    await env.pg.reload();
    const pid = env.daemonPid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    await waitFor('cmd_queue gone', async () => env.daemonPid() === undefined);
    const readyNames = async (): Promise<string[]> =>
      env.walFiles(join(env.pg.pgdata, 'pg_wal')).filter((n) => {
        try {
          readFileSync(join(env.pg.pgdata, 'pg_wal', 'archive_status', `${n}.ready`));
          return true;
        } catch {
          return false;
        }
      });
    await makeSegments(env.pg, TIMED);
    const warmSet = await waitFor(`${TIMED} .ready files`, async () => {
      const r = await readyNames();
      return r.length >= TIMED ? r : undefined;
    });
    const started = await env.run(['-C', env.ini, '--daemon'], { bin: CMD_QUEUE });
    assert.equal(started.code, 0, started.stderr);
    await waitFor(
      'cmd_queue shipped the ready segments ahead',
      async () =>
        env.slaves.every((s) =>
          warmSet.every((n) => {
            try {
              return sha256File(join(s.rdir, n)) !== '';
            } catch {
              return false;
            }
          }),
        ),
      60_000,
    );
    // Each one twice: the sh front end alone (proof marker), then the Node.js program reading the same marker.
    const fast: number[] = [];
    const warm: number[] = [];
    const startsBefore = env.nodeStarts().length;
    for (const n of warmSet) {
      const f = await env.run(['-C', env.ini, '-F', `pg_wal/${n}`], { bin: FRONT_END, cwd: env.pg.pgdata });
      assert.equal(f.code, 0, f.stderr);
      fast.push(f.ms);
      const r = await env.run(['-C', env.ini, '-F', `pg_wal/${n}`]);
      assert.equal(r.code, 0, r.stderr);
      warm.push(r.ms);
    }
    assert.equal(env.nodeStarts().length, startsBefore, 'the front end never started Node.js');
    assertEverywhere(warmSet);
    const log = readFileSync(join(env.lArchivedir, 'cmd_queue.log'), 'utf8');
    for (const n of warmSet) assert.match(log, new RegExp(`${n}: proof marker written`));
    // Standalone: no cmd_queue, warm path off, a fresh SSH connection per segment.
    const qpid = env.daemonPid();
    process.kill(qpid!, 'SIGTERM');
    await waitFor('cmd_queue gone', async () => env.daemonPid() === undefined);
    env.writeIni({ warm_path: 'off' });
    await makeSegments(env.pg, TIMED);
    const coldSet = await waitFor(`${TIMED} more .ready files`, async () => {
      const r = (await readyNames()).filter((n) => !warmSet.includes(n));
      return r.length >= TIMED ? r : undefined;
    });
    const cold: number[] = [];
    for (const n of coldSet) {
      const r = await env.run(['-C', env.ini, '-F', `pg_wal/${n}`]);
      assert.equal(r.code, 0, r.stderr);
      cold.push(r.ms);
    }
    assertEverywhere(coldSet);
    const base: number[] = [];
    for (let i = 0; i < 5; i++) base.push((await env.run(['0'], { bin: '-e' })).ms);
    console.log(
      `cmd_archiver per 16 MiB segment, 3 slaves: sh front end on a proof marker median ${median(fast).toFixed(1)} ms ` +
        `(min ${Math.min(...fast).toFixed(1)}); Node.js asking cmd_queue (shipped ahead) median ${median(warm).toFixed(0)} ms ` +
        `(min ${Math.min(...warm).toFixed(0)}); standalone median ${median(cold).toFixed(0)} ms (min ${Math.min(...cold).toFixed(0)}); ` +
        `bare node start ${median(base).toFixed(0)} ms`,
    );
    env.writeIni({});
  });
});

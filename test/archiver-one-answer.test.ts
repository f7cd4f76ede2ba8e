// pitr-test: once
/**
 * One situation, one answer: `cmd_archiver -F` runs standalone (warm_path off), or with a cmd_queue
 * it starts (the first segment), or with a warm cmd_queue that shipped the segment ahead (through
 * the sh front end, as PostgreSQL runs it, and through the Node.js entry). A conflict, an offline
 * state and a dead slave must read the same and exit the same on every path (issue 16): only a
 * proof marker answers "archived" without the standalone run, and everything else is the
 * standalone run's answer. PostgreSQL runs without archiving (cmd_queue lives while the
 * postmaster does); the segments are files the test writes into pg_wal with their .ready status
 * files, as PostgreSQL leaves them (-F checks names and places, not contents), so this file runs
 * once, not per major. The slaves are real sshd.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CMD_ARCHIVER, FRONT_END, queueRunnerPid } from './rig/archiver-env.js';
import { cleanupAll, onCleanup } from './rig/cleanup.js';
import { freeTcpPort, startPostgres, waitFor } from './rig/postgres.js';
import { runProgram } from './rig/run.js';
import { startSshd, type SshdHandle } from './rig/sshd.js';
import { makeTempDir } from './rig/tmp.js';

after(cleanupAll);

let dir: string;
let pgdata: string;
let queue: string;
let ini: string;
let slaves: Array<{ sshd: SshdHandle; rdir: string; entry: string }>;
let deadEntry: string;

/** A fresh 1 MiB "segment" in pg_wal (named as PostgreSQL names them), marked .ready for cmd_queue's look-ahead. */
function segment(n: number): string {
  const name = `0000000100000000000000${(0xa0 + n).toString(16).toUpperCase()}`; // far after initdb's own
  writeFileSync(join(pgdata, 'pg_wal', name), randomBytes(1 << 20), { mode: 0o600 });
  writeFileSync(join(pgdata, 'pg_wal', 'archive_status', `${name}.ready`), '', { mode: 0o600 });
  return name;
}

function writeIni(over: Record<string, string>, dead = false): void {
  const all = dead ? [...slaves.map((s) => s.entry), deadEntry] : slaves.map((s) => s.entry);
  const lines = [
    '[DEFAULT]',
    `pgdata: ${pgdata}`,
    `l_archivedir: ${queue}`,
    'r_archivedir: /nonexistent/set-per-slave',
    `slaves: ${all.join(', ')}`,
    'ssh_timeout: 5',
    'queue_wait: 1',
    'slave_deadline: 20',
    ...Object.entries(over).map(([k, v]) => `${k}: ${v}`),
    '',
  ];
  for (const s of slaves)
    lines.push(`[${s.entry}]`, `r_archivedir: ${s.rdir}`, `ssh_identity: ${s.sshd.clientKey}`, `ssh_known_hosts: ${s.sshd.knownHostsFile}`, '');
  if (dead)
    lines.push(
      `[${deadEntry}]`,
      `r_archivedir: ${join(dir, 'dead')}`,
      `ssh_identity: ${slaves[0]!.sshd.clientKey}`,
      `ssh_known_hosts: ${slaves[0]!.sshd.knownHostsFile}`,
      '',
    );
  writeFileSync(ini, lines.join('\n'), { mode: 0o600 });
}

const runCmd = runProgram;

/** What a person (or PostgreSQL's log) sees of an answer: the exit code and the ERROR/WARNING/HINT lines. */
interface Answer {
  code: number | null;
  words: string[];
}

async function archive(name: string, how: 'node' | 'front end'): Promise<Answer> {
  const r =
    how === 'front end'
      ? await runCmd([FRONT_END, '-C', ini, '-F', `pg_wal/${name}`], { cwd: pgdata })
      : await runCmd([process.execPath, CMD_ARCHIVER, '-C', ini, '-F', `pg_wal/${name}`], { cwd: pgdata });
  return { code: r.code, words: r.stderr.split('\n').filter((l) => /^cmd_archiver: (ERROR|WARNING|HINT):/.test(l)) };
}

async function stopQueueRunner(): Promise<void> {
  const pid = queueRunnerPid(queue);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  await waitFor('cmd_queue gone', async () => queueRunnerPid(queue) === undefined, 30_000);
}

/**
 * The same -F on every path: standalone (warm_path off), then with a cmd_queue it starts, then
 * with that warm cmd_queue through the Node.js entry and through the sh front end. Returns the answers.
 * `queueAsks`: cmd_queue shipped it itself and found it not safe, leaving NAME.ask (which only
 * cmd_queue writes): proof that the warm runs had cmd_queue's work behind them, not only their own.
 */
async function everyPath(name: string, over: Record<string, string> = {}, dead = false, queueAsks = false): Promise<Record<string, Answer>> {
  const ask = join(queue, '.archived', `${name}.ask`);
  await stopQueueRunner();
  writeIni({ ...over, warm_path: 'off' }, dead);
  const standalone = await archive(name, 'node');
  await stopQueueRunner(); // a standalone run that queued starts one to deliver it
  writeIni({ ...over, warm_path: 'on' }, dead);
  const started = await archive(name, 'node');
  const pid = await waitFor('cmd_queue up', async () => queueRunnerPid(queue), 30_000);
  if (queueAsks) await waitFor(`cmd_queue's ${ask}`, async () => existsSync(ask), 30_000);
  const warmNode = await archive(name, 'node');
  const warmFront = await archive(name, 'front end');
  // Where cmd_queue's work is part of the answer (it shipped and left NAME.ask), it must have run throughout.
  if (queueAsks) assert.equal(queueRunnerPid(queue), pid, 'the same cmd_queue ran beside the warm runs');
  return { standalone, started, warmNode, warmFront };
}

function sameEverywhere(answers: Record<string, Answer>, code: number): Answer {
  const first = answers.standalone!;
  for (const [path, a] of Object.entries(answers)) assert.deepEqual(a, first, `${path} answers as the standalone run does`);
  assert.equal(first.code, code);
  return first;
}

before(async () => {
  const tmp = makeTempDir('pitr-answers-');
  onCleanup('answers dir', () => tmp.remove());
  dir = tmp.path;
  // Running (cmd_queue lives while the postmaster does) but not archiving: the -F runs are the test's own.
  pgdata = (await startPostgres({ name: 'answers', parent: join(dir, 'pg') })).pgdata;
  queue = join(dir, 'queue');
  ini = join(dir, 'cmd_archiver.ini');
  slaves = [];
  for (let i = 0; i < 2; i++) {
    const sshd = await startSshd();
    const rdir = join(dir, `slave${i}`);
    mkdirSync(rdir, { mode: 0o700 });
    slaves.push({ sshd, rdir, entry: `${sshd.host}:${sshd.port}` });
  }
  deadEntry = `127.0.0.1:${await freeTcpPort()}`; // nobody listens: connections are refused
  onCleanup('cmd_queue of answers', () => stopQueueRunner());
  writeIni({}, true);
  const init = await runCmd([process.execPath, CMD_ARCHIVER, '-C', ini, '-I']);
  assert.equal(init.code, 0, init.stderr);
});

test("a conflict: exit 4, the same ARCHIVE_CONFLICT words and hint on every path; the slave's file untouched", async () => {
  const name = segment(1);
  writeFileSync(join(slaves[0]!.rdir, name), 'another file under the same name');
  const a = sameEverywhere(await everyPath(name, {}, false, true), 4);
  assert.equal(a.words.length, 2, a.words.join('\n'));
  assert.match(a.words[0]!, new RegExp(`^cmd_archiver: ERROR: ${name} is NOT archived: ${slaves[0]!.entry.replace(':', '_')}: CONFLICT`));
  assert.match(a.words[1]!, /^cmd_archiver: HINT: PostgreSQL keeps the segment in pg_wal and retries; nothing was overwritten/);
  assert.equal(readFileSync(join(slaves[0]!.rdir, name), 'utf8'), 'another file under the same name');
});

test('state: offline: exit 3, the same WARNING and hint on every path; nothing shipped', async () => {
  const name = segment(2);
  const a = sameEverywhere(await everyPath(name, { state: 'offline' }), 3);
  assert.deepEqual(a.words, [
    `cmd_archiver: WARNING: not archiving ${name}: state is offline in ${ini}`,
    'cmd_archiver: HINT: PostgreSQL keeps the segment in pg_wal and retries; set state: online to resume',
  ]);
  for (const s of slaves) assert.ok(!existsSync(join(s.rdir, name)));
});

test("a dead slave: exit 0 and no error on every path; the segment is on the live slaves and in the dead one's queue", async () => {
  const name = segment(3);
  const a = sameEverywhere(await everyPath(name, {}, true), 0);
  assert.deepEqual(a.words, []);
  for (const s of slaves) assert.ok(existsSync(join(s.rdir, name)), `on ${s.entry}`);
  assert.ok(existsSync(join(queue, deadEntry.replace(':', '_'), name)), 'queued for the dead slave');
});

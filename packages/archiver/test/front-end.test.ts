/**
 * The sh front end bin/cmd_archiver, run for real (through `sh -c`, from pgdata, with a relative
 * pg_wal/NAME, as PostgreSQL runs archive_command). `node` on its PATH is a stub that records
 * that it was started: the fast path must answer exit 0 without it only when a proof marker
 * written by the daemon's own code matches the file and the ini exactly; every other case must
 * reach the stub (the Node.js program, which does the whole job).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { createLogger } from '@pitrtools/core/log';
import { fileIdentity, IDENTITY_FORMAT } from '../src/daemon/file-identity.js';
import { markerProves } from '../src/warm/await-proof.js';
import { MARKER_DIR, ProofMarkers } from '../src/daemon/proof-markers.js';
import { MALLOC_ENV } from '../src/daemon/spawn.js';

const FRONT_END = new URL('../bin/cmd_archiver', import.meta.url).pathname;
const SEG = '00000001000000000000003E';
const root = mkdtempSync(join(tmpdir(), 'pitr-front-'));
after(() => {
  chmodSync(root, 0o700);
  rmSync(root, { recursive: true, force: true });
});
const log = createLogger(() => undefined, { debug: false });

// `node` for the front end: records its arguments and exits 99 (never the real program).
const stubDir = join(root, 'stub-bin');
const nodeLog = join(root, 'node-starts');
// ... and the glibc malloc settings it was started with ('-' when unset).
const envLog = join(root, 'node-env');
mkdirSync(stubDir);
// Started as cmd_queue with STUB_ADIR set, it stands in for one: it writes the proof marker of
// STUB_NAME (the identity lines of STUB_WAL and STUB_INI, as the daemon does) and stays alive.
const cwdLog = join(root, 'node-cwd');
writeFileSync(
  join(stubDir, 'node'),
  [
    '#!/bin/sh',
    `printf '%s\\n' "$*" >> '${nodeLog}'`,
    `printf '%s %s %s\\n' "\${MALLOC_MMAP_THRESHOLD_--}" "\${MALLOC_TRIM_THRESHOLD_--}" "\${MALLOC_ARENA_MAX--}" > '${envLog}'`,
    `printf '%s\\n' "$PWD" > '${cwdLog}'`,
    'case $* in *cmd_queue.js*)',
    '  if [ -n "${STUB_ADIR-}" ]; then',
    '    mkdir -p -m 700 "$STUB_ADIR"',
    `    stat -c '${IDENTITY_FORMAT}' "$STUB_WAL" "$STUB_INI" > "$STUB_ADIR/.m.tmp" && mv "$STUB_ADIR/.m.tmp" "$STUB_ADIR/$STUB_NAME"`,
    '    exec /bin/sleep 5',
    '  fi ;;',
    'esac',
    'exit 99',
    '',
  ].join('\n'),
  { mode: 0o755 },
);
// `sleep` for the front end: counts the sleeps of its wait for a marker, so that "at once" and
// "after the whole wait" are told apart by what the script did, not by a clock on a busy machine.
const sleepLog = join(root, 'sleeps');
writeFileSync(join(stubDir, 'sleep'), ['#!/bin/sh', `printf '%s\\n' "$1" >> '${sleepLog}'`, 'exec /bin/sleep "$@"', ''].join('\n'), { mode: 0o755 });
/** The front end's wait for a marker: this many looks, a sleep after each (bin/cmd_archiver). */
const WAIT_LOOKS = 150;
const PATH = `${stubDir}:/usr/bin:/bin`;

let n = 0;
let t: { dir: string; pgdata: string; wal: string; ini: string; queue: string; adir: string };

function iniText(queue: string, extra = ''): string {
  return `[DEFAULT]\npgdata: /pg\nl_archivedir: ${queue}\nslaves: s1\nr_archivedir: /a\n${extra}\n[s1]\nssh_port: 22\n`;
}

beforeEach(() => {
  const dir = join(root, `t${n++}`);
  const pgdata = join(dir, 'data');
  mkdirSync(join(pgdata, 'pg_wal'), { recursive: true });
  const wal = join(pgdata, 'pg_wal', SEG);
  writeFileSync(wal, Buffer.alloc(64 * 1024, 7));
  const queue = join(dir, 'queue');
  mkdirSync(queue, { mode: 0o700 });
  const ini = join(dir, 'cmd_archiver.ini');
  writeFileSync(ini, iniText(queue));
  t = { dir, pgdata, wal, ini, queue, adir: join(queue, MARKER_DIR) };
  rmSync(nodeLog, { force: true });
});

/** Writes the marker of `name` with the daemon's own code, for the ini as it is now. */
async function prove(name = SEG, ini = t.ini): Promise<void> {
  const iniId = await fileIdentity(ini);
  const m = new ProofMarkers({ lArchivedir: t.queue, iniIdentity: iniId!.line, iniUnchanged: async () => true, log });
  await m.open();
  const path = join(t.pgdata, 'pg_wal', name);
  assert.ok(await m.prove(name, path, (await fileIdentity(path))!.line), 'marker written');
}

/** Runs the front end as PostgreSQL does: sh -c 'archive_command' in pgdata; or with an argv as given. */
function run(
  o: { command?: string; argv?: string[]; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; ms: number; node: string[]; stderr: string; sleeps: number }> {
  rmSync(nodeLog, { force: true });
  rmSync(sleepLog, { force: true });
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = o.argv
      ? spawn(FRONT_END, o.argv, { cwd: o.cwd ?? t.pgdata, env: { PATH, ...o.env }, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('/bin/sh', ['-c', o.command ?? `${FRONT_END} -C ${t.ini} -F pg_wal/${SEG}`], {
          cwd: o.cwd ?? t.pgdata,
          env: { PATH, ...o.env },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('close', (code) => {
      const node = existsSync(nodeLog) ? readFileSync(nodeLog, 'utf8').split('\n').filter(Boolean) : [];
      const sleeps = existsSync(sleepLog) ? readFileSync(sleepLog, 'utf8').split('\n').filter(Boolean).length : 0;
      resolve({ code, ms: performance.now() - t0, node, stderr, sleeps });
    });
  });
}

// The Node.js side (warm/await-proof.ts) must read a marker of the default segment exactly as this does.
const nodeReads = (): Promise<boolean | undefined> => markerProves({ lArchivedir: t.queue, ini: t.ini, wal: t.wal, name: SEG });

async function assertFast(o?: Parameters<typeof run>[0]): Promise<void> {
  const r = await run(o);
  assert.deepEqual(r.node, [], 'node was not started');
  assert.equal(r.code, 0, r.stderr);
  if (o === undefined) assert.equal(await nodeReads(), true, 'Node.js accepts the marker too');
}

/** Went to Node.js at once: not a single sleep of the wait for a marker. */
async function assertNode(o?: Parameters<typeof run>[0]): Promise<void> {
  const r = await run(o);
  assert.equal(r.code, 99, `went to node (exit ${r.code}): ${r.stderr}`);
  assert.equal(r.node.length, 1);
  assert.equal(r.sleeps, 0, `without waiting (${r.sleeps} sleeps, ${r.ms.toFixed(0)} ms)`);
  if (o === undefined) assert.notEqual(await nodeReads(), true, 'Node.js refuses the marker too');
}

describe('identity lines', () => {
  it('are exactly what GNU stat prints for the same format', async () => {
    for (const p of [t.wal, t.ini, t.queue]) {
      const out = await new Promise<string>((resolve) => {
        const c = spawn('stat', ['-c', IDENTITY_FORMAT, '--', p], { stdio: ['ignore', 'pipe', 'inherit'] });
        let s = '';
        c.stdout.setEncoding('utf8').on('data', (d: string) => {
          s += d;
        });
        c.on('close', () => resolve(s.trim()));
      });
      assert.equal((await fileIdentity(p))!.line, out);
    }
  });
});

describe('the fast path answers only for a marker that matches', () => {
  it("marker present and matching: exit 0 without starting node (relative and absolute %p, through a symlink like npm's)", async () => {
    await prove();
    await assertFast();
    await assertFast({ command: `${FRONT_END} -C ${t.ini} -F ${t.wal}` });
    const link = join(t.dir, 'cmd_archiver');
    symlinkSync(FRONT_END, link);
    await assertFast({ command: `${link} -C ${t.ini} -F pg_wal/${SEG}` });
    const r = await run();
    assert.equal(r.sleeps, 0, `${r.sleeps} sleeps (${r.ms.toFixed(0)} ms)`);
  });

  it('.history, .backup and .partial names', async () => {
    for (const name of ['00000002.history', `${SEG}.00000028.backup`, `${SEG}.partial`]) {
      writeFileSync(join(t.pgdata, 'pg_wal', name), `${name}\n`);
      await prove(name);
      await assertFast({ command: `${FRONT_END} -C ${t.ini} -F pg_wal/${name}` });
    }
  });

  it('the file replaced by another with the same bytes and times (another inode): node', async () => {
    await prove();
    const st = statSync(t.wal);
    writeFileSync(`${t.wal}.new`, readFileSync(t.wal));
    utimesSync(`${t.wal}.new`, st.atime, st.mtime);
    renameSync(`${t.wal}.new`, t.wal);
    await assertNode();
  });

  it('a different size: node', async () => {
    await prove();
    appendFileSync(t.wal, 'x');
    await assertNode();
  });

  it('a different mtime: node', async () => {
    await prove();
    utimesSync(t.wal, new Date(), new Date(Date.now() - 60_000));
    await assertNode();
  });

  it('the same bytes rewritten in place with the mtime put back (only ctime moved): node', async () => {
    await prove();
    const st = statSync(t.wal);
    writeFileSync(t.wal, readFileSync(t.wal));
    utimesSync(t.wal, st.atime, st.mtime);
    await assertNode();
  });

  it('the ini touched after the marker: node', async () => {
    await prove();
    await new Promise((r) => setTimeout(r, 20));
    utimesSync(t.ini, new Date(), new Date());
    await assertNode();
  });

  it('one byte of the ini changed, size and mtime put back: node', async () => {
    await prove();
    const st = statSync(t.ini);
    writeFileSync(t.ini, readFileSync(t.ini, 'utf8').replace('slaves: s1', 'slaves: s2'));
    utimesSync(t.ini, st.atime, st.mtime);
    assert.equal(statSync(t.ini).size, st.size);
    await assertNode();
  });

  it('a marker made for another ini (a copy naming the same l_archivedir), or for this one before it got a hard link: node', async () => {
    await prove();
    const other = join(t.dir, 'other.ini');
    writeFileSync(other, readFileSync(t.ini));
    await assertNode({ command: `${FRONT_END} -C ${other} -F pg_wal/${SEG}` });
    await assertFast();
    // Even a new link to the same file moves its ctime: every marker is void.
    linkSync(t.ini, join(t.dir, 'hard.ini'));
    await assertNode({ command: `${FRONT_END} -C ${join(t.dir, 'hard.ini')} -F pg_wal/${SEG}` });
    await assertNode();
  });

  it('garbage, one line, or an empty marker: node', async () => {
    mkdirSync(t.adir, { mode: 0o700 });
    const id = (await fileIdentity(t.wal))!.line;
    for (const text of ['garbage\n', `${id}\n`, '', `${id}\n${id}\n`, `\n\n`, `${id} \n${(await fileIdentity(t.ini))!.line}\n`]) {
      writeFileSync(join(t.adir, SEG), text);
      await assertNode();
    }
  });

  it('no marker and no cmd_queue: node at once', async () => {
    await assertNode();
    mkdirSync(t.adir, { mode: 0o700 });
    await assertNode();
  });

  it("node starts with spawn.ts's glibc malloc settings; a value the environment has wins", async () => {
    const { MALLOC_MMAP_THRESHOLD_: mmap, MALLOC_TRIM_THRESHOLD_: trim, MALLOC_ARENA_MAX: arenas } = MALLOC_ENV;
    await assertNode();
    assert.equal(readFileSync(envLog, 'utf8').trim(), `${mmap} ${trim} ${arenas}`);
    await assertNode({ env: { MALLOC_TRIM_THRESHOLD_: '4096' } });
    assert.equal(readFileSync(envLog, 'utf8').trim(), `${mmap} 4096 ${arenas}`);
  });

  it('a marker directory others may write to, or not ours, or a symlink: node', async () => {
    await prove();
    chmodSync(t.adir, 0o770);
    await assertNode();
    chmodSync(t.adir, 0o755);
    await assertNode();
    chmodSync(t.adir, 0o700);
    await assertFast();
    renameSync(t.adir, `${t.adir}.real`);
    symlinkSync(`${t.adir}.real`, t.adir);
    await assertNode();
  });

  it('l_archivedir itself others may write to, or a symlink: node, even with a marker that matches', async () => {
    await prove();
    for (const mode of [0o777, 0o770, 0o702, 0o1777]) {
      chmodSync(t.queue, mode);
      await assertNode();
    }
    chmodSync(t.queue, 0o750);
    await assertFast();
    chmodSync(t.queue, 0o700);
    await assertFast();
    const real = `${t.queue}.real`;
    renameSync(t.queue, real);
    symlinkSync(real, t.queue);
    await assertNode();
    writeFileSync(t.ini, iniText(`${t.queue}/`));
    await prove(SEG, t.ini).catch(() => undefined);
    await assertNode();
  });

  it('a symlink as -F (the link is not the file shipped): node', async () => {
    await prove();
    const real = join(t.dir, 'elsewhere');
    renameSync(t.wal, real);
    symlinkSync(real, t.wal);
    await assertNode();
  });

  it('an ini given as a symbolic link: node', async () => {
    await prove();
    const link = join(t.dir, 'link.ini');
    symlinkSync(t.ini, link);
    await assertNode({ command: `${FRONT_END} -C ${link} -F pg_wal/${SEG}` });
  });
});

describe('anything unusual goes to node', () => {
  it('other command lines', async () => {
    await prove();
    for (const argv of [
      ['-F', `pg_wal/${SEG}`, '-C', t.ini],
      ['-C', t.ini, '-F', `pg_wal/${SEG}`, '-v'],
      ['-C', t.ini],
      ['--config', t.ini, '--file', `pg_wal/${SEG}`],
      [`-C${t.ini}`, '-F', `pg_wal/${SEG}`],
      ['-C', t.ini, '-n', `pg_wal/${SEG}`],
      [],
      ['-I'],
    ]) {
      const r = await run({ argv });
      assert.equal(r.code, 99, argv.join(' '));
      assert.equal(r.node.length, 1);
      assert.ok(r.node[0]!.endsWith(`/cmd_archiver.js ${argv.join(' ')}`.trimEnd()), r.node[0]);
    }
  });

  it('hostile -F values: nothing evaluated, node (which refuses them)', async () => {
    await prove();
    const pwned = join(t.dir, 'pwned');
    for (const f of [
      '../x',
      `pg_wal/../pg_wal/${SEG}`,
      `pg_wal//${SEG}`,
      `./pg_wal/${SEG}`,
      `pg_wal/./${SEG}`,
      `pg_wal/sub/${SEG}`,
      `pg_wal/${SEG} `,
      `pg_wal/${SEG}\n`,
      `pg_wal/a b`,
      `pg_wal/$(touch ${pwned})`,
      `pg_wal/\`touch ${pwned}\``,
      `pg_wal/${SEG.toLowerCase()}`,
      `pg_wal/${SEG}0`,
      `pg_wal/*`,
      `pg_wal/${SEG.slice(0, 23)}?`,
      `pg_wal/[0-9A-F]*`,
      '-x',
      '',
      `${t.pgdata}/../data/pg_wal/${SEG}`,
      `/pg_wal/${SEG}x`,
    ]) {
      const r = await run({ argv: ['-C', t.ini, '-F', f] });
      assert.equal(r.code, 99, `${JSON.stringify(f)}: ${r.stderr}`);
    }
    assert.ok(!existsSync(pwned), 'nothing was evaluated');
  });

  it('an ini whose l_archivedir needs the full loader, or is not where the fast path reads it', async () => {
    await prove();
    const cases: Array<[string, string]> = [
      ['interpolation', `[DEFAULT]\nbase: ${t.dir}\nl_archivedir: %(base)s/queue\n`],
      ['a percent sign', `[DEFAULT]\nl_archivedir: ${t.queue}%\n`],
      ['only in a per-slave section', `[DEFAULT]\nslaves: s1\n[s1]\nl_archivedir: ${t.queue}\n`],
      ['also in a per-slave section', `[DEFAULT]\nl_archivedir: ${t.queue}\n[s1]\nl_archivedir: ${t.queue}\n`],
      ['twice', `[DEFAULT]\nl_archivedir: ${t.queue}\nl_archivedir: ${t.queue}\n`],
      ['an inline comment', `[DEFAULT]\nl_archivedir: ${t.queue} ; the queues\n`],
      ['quotes', `[DEFAULT]\nl_archivedir: "${t.queue}"\n`],
      ['a relative path', `[DEFAULT]\nl_archivedir: queue\n`],
      ['a ~ path', `[DEFAULT]\nl_archivedir: ~/queue\n`],
      ['a continuation line', `[DEFAULT]\nl_archivedir: ${t.queue}\n  /more\n`],
      ['.. in it', `[DEFAULT]\nl_archivedir: ${t.queue}/../queue\n`],
      ['CRLF line ends', `[DEFAULT]\r\nl_archivedir: ${t.queue}\r\n`],
      ['an odd section line', `[DEFAULT] x\nl_archivedir: ${t.queue}\n`],
      ['none at all', `[DEFAULT]\nslaves: s1\n`],
      ['a line that is no key', `[DEFAULT]\nl_archivedir ${t.queue}\n`],
    ];
    for (const [what, text] of cases) {
      // The marker is made for this very ini: only the reading of l_archivedir can send it to node.
      writeFileSync(t.ini, text);
      await prove();
      const r = await run();
      assert.equal(r.code, 99, what);
    }
  });

  it('the ones it does read: keys before any section, any case, `=`, indented files, other sections around', async () => {
    const cases = [
      `l_archivedir: ${t.queue}\nslaves: s1\n`,
      `[DEFAULT]\nL_ArchiveDir = ${t.queue}/\n`,
      `  [DEFAULT]\n  pgdata: /pg\n  l_archivedir:   ${t.queue}\n  slaves: s1\n`,
      `[s1]\nr_archivedir: /x\n\n; a comment\n[DEFAULT]\n# l_archivedir: /wrong\nl_archivedir: ${t.queue}\n[s2]\nssh_port: 2\n`,
      `[DEFAULT]\nnotify_ok: /bin/x\n  --continued\nl_archivedir: ${t.queue}\n`,
    ];
    for (const text of cases) {
      writeFileSync(t.ini, text);
      await prove();
      await assertFast();
    }
  });

  it('an unreadable ini: node', async () => {
    await prove();
    chmodSync(t.ini, 0o000);
    await assertNode();
    chmodSync(t.ini, 0o600);
    unlinkSync(t.ini);
    await assertNode();
  });
});

describe('waiting for the marker while cmd_queue runs', () => {
  // A live process standing in for cmd_queue (the front end checks the pid with kill -0).
  async function withDaemon(fn: (pid: number) => Promise<void>): Promise<void> {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    writeFileSync(join(t.queue, '.cmd_queue.pid'), `${child.pid}\n`);
    mkdirSync(t.adir, { recursive: true, mode: 0o700 });
    try {
      await fn(child.pid!);
    } finally {
      child.kill('SIGKILL');
    }
  }

  it('a marker that appears while it waits: exit 0 without node', async () => {
    await withDaemon(async () => {
      const pending = run();
      await new Promise((r) => setTimeout(r, 300));
      await prove();
      const r = await pending;
      assert.deepEqual(r.node, []);
      assert.equal(r.code, 0);
      assert.ok(r.ms >= 250 && r.sleeps > 0 && r.sleeps < WAIT_LOOKS, `it waited (${r.sleeps} sleeps, ${r.ms.toFixed(0)} ms)`);
    });
  });

  it('"no marker is coming" (NAME.ask), markers off (.off), state offline, a dead pid: node at once', async () => {
    await withDaemon(async () => {
      writeFileSync(join(t.adir, `${SEG}.ask`), '');
      await assertNode();
      rmSync(join(t.adir, `${SEG}.ask`));
      writeFileSync(join(t.adir, '.off'), 'state is offline\n');
      await assertNode();
      rmSync(join(t.adir, '.off'));
      writeFileSync(t.ini, iniText(t.queue, 'state: offline'));
      await assertNode();
    });
    await assertNode(); // the pid file names a process that is gone
  });

  it('a marker that does not come: node after a few seconds', async () => {
    await withDaemon(async () => {
      const r = await run();
      assert.equal(r.code, 99);
      assert.equal(r.sleeps, WAIT_LOOKS, `the whole wait, then Node.js (${r.ms.toFixed(0)} ms)`);
      assert.ok(r.ms > 2000, `${r.ms.toFixed(0)} ms`);
    });
  });
});

describe('no cmd_queue runs: the front end starts it (PostgreSQL just started)', () => {
  const QUEUE_JS = new URL('../bin/cmd_queue.js', import.meta.url).pathname;
  const ready = (): void => {
    mkdirSync(join(t.pgdata, 'pg_wal', 'archive_status'), { recursive: true });
    writeFileSync(join(t.pgdata, 'pg_wal', 'archive_status', `${SEG}.ready`), '');
  };
  const started = (ini: string): string => `--expose-gc --max-semi-space-size=2 -- ${QUEUE_JS} -C ${ini} --log-file ${t.queue}/cmd_queue.log`;
  const stubDaemon = (): NodeJS.ProcessEnv => ({ STUB_ADIR: t.adir, STUB_NAME: SEG, STUB_WAL: t.wal, STUB_INI: t.ini });

  it('the segment .ready: cmd_queue detached (cwd /, the ini made absolute, its log, the malloc settings); its marker answers, no Node.js cmd_archiver', async () => {
    ready();
    // A pid file whose process is gone is no cmd_queue either.
    writeFileSync(join(t.queue, '.cmd_queue.pid'), '2147483646\n');
    const r = await run({ command: `${FRONT_END} -C ../cmd_archiver.ini -F pg_wal/${SEG}`, env: stubDaemon() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.node, [started(`${t.pgdata}/../cmd_archiver.ini`)]);
    assert.equal(readFileSync(cwdLog, 'utf8').trim(), '/');
    const { MALLOC_MMAP_THRESHOLD_: mmap, MALLOC_TRIM_THRESHOLD_: trim, MALLOC_ARENA_MAX: arenas } = MALLOC_ENV;
    assert.equal(readFileSync(envLog, 'utf8').trim(), `${mmap} ${trim} ${arenas}`);
  });

  it('a cmd_queue that ends at once (it refused what it found, or another took the pid file): Node.js', async () => {
    ready();
    const r = await run();
    assert.equal(r.code, 99);
    assert.deepEqual(r.node, [started(t.ini), `--expose-gc -- ${FRONT_END.replace(/cmd_archiver$/, 'cmd_archiver.js')} -C ${t.ini} -F pg_wal/${SEG}`]);
    assert.ok(r.sleeps < WAIT_LOOKS, `as soon as it was gone, not after the whole wait (${r.sleeps} sleeps, ${r.ms.toFixed(0)} ms)`);
  });

  it('not started where the Node.js program would not start it: warm_path off, no .ready, l_archivedir writable by its group, its log a link, markers off', async () => {
    ready();
    writeFileSync(t.ini, iniText(t.queue, 'warm_path: off'));
    await assertNode({ env: stubDaemon() });
    writeFileSync(t.ini, iniText(t.queue));
    chmodSync(t.queue, 0o770);
    await assertNode({ env: stubDaemon() });
    chmodSync(t.queue, 0o700);
    symlinkSync(join(t.dir, 'elsewhere'), join(t.queue, 'cmd_queue.log'));
    await assertNode({ env: stubDaemon() });
    unlinkSync(join(t.queue, 'cmd_queue.log'));
    mkdirSync(t.adir, { mode: 0o700 });
    writeFileSync(join(t.adir, '.off'), 'warm_path is off\n');
    await assertNode({ env: stubDaemon() });
    rmSync(t.adir, { recursive: true });
    rmSync(join(t.pgdata, 'pg_wal', 'archive_status', `${SEG}.ready`));
    await assertNode({ env: stubDaemon() });
    // With everything in place it does start (the cases above differ only in what they name).
    ready();
    const r = await run({ env: stubDaemon() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.node, [started(t.ini)]);
  });
});

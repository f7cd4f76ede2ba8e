/**
 * An archiving set-up for end-to-end tests: real sshd "slaves" (each with its own r_archivedir,
 * key and known_hosts, named in a per-slave section), a cmd_archiver.ini, an alert recorder, and
 * a real PostgreSQL whose archive_command is this repository's cmd_archiver: the sh front end,
 * exactly as -I prints it. PostgreSQL finds `node` through a stub first on its PATH that records
 * each start, so a test can tell the segments the front end answered alone from the others.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { makeSegments, startPostgres, waitFor, type PgCluster } from './postgres.js';
import { startSshd, type SshdHandle } from './sshd.js';
import { runProgram } from './run.js';
import { makeTempDir } from './tmp.js';

const repo = new URL('../..', import.meta.url).pathname;
/** The sh front end: what archive_command runs. */
export const FRONT_END = join(repo, 'packages/archiver/bin/cmd_archiver');
/** The executable shims the tests run (the front end's slow path execs the first). */
export const CMD_ARCHIVER = join(repo, 'packages/archiver/bin/cmd_archiver.js');
export const CMD_QUEUE = join(repo, 'packages/archiver/bin/cmd_queue.js');
/** The alert hook the rigs install: appends each alert (level, event, message, ...) to a JSON-lines file. */
export const RECORDER = join(repo, 'test/rig/archiver-alert-recorder.mjs');

/** sha256 of a file, to compare archived copies with the originals. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every entry below `dir` with its size (or 'dir'), to show that a command changed nothing. */
export function fileTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = statSync(p);
      out.push(`${p} ${st.isDirectory() ? 'dir' : st.size}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** One slave: its sshd, its r_archivedir and its names in the ini (a test may point it elsewhere, then writeIni()). */
export interface TestSlave {
  sshd: SshdHandle;
  rdir: string;
  knownHostsFile: string;
  /** Entry in `slaves` (HOST:PORT, HOST 127.0.0.1 or the slow link's). */
  entry: string;
  /** Queue directory name (HOST_PORT). */
  name: string;
}

/** A recorded alert. */
export interface RecordedAlert {
  level: string;
  event: string;
  slave?: string;
  message: string;
  args: string[];
}

/** What a test works with. */
export interface ArchiverEnv {
  dir: string;
  ini: string;
  lArchivedir: string;
  pg: PgCluster;
  slaves: TestSlave[];
  /** Rewrites the ini with these [DEFAULT] keys on top of the base ones. */
  writeIni(over?: Record<string, string>): void;
  alerts(): RecordedAlert[];
  /** Runs cmd_archiver (or cmd_queue, or with bin FRONT_END the sh front end) as a child process. */
  run(
    args: string[],
    opts?: { bin?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
  ): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>;
  stats(): Promise<{ archived: number; failed: number; last: string | null }>;
  /** pid of the running cmd_queue, if any. */
  daemonPid(): number | undefined;
  /**
   * Makes `n` segments, waits until PostgreSQL has archived them all (pg_stat_archiver) with no
   * archive_command failure, and returns their names, oldest first.
   */
  archiveMore(n: number, timeoutMs?: number): Promise<string[]>;
  /** Names of WAL files in a directory (no temps). */
  walFiles(dir: string): string[];
  /** Arguments of every `node` the archive_command started so far (the front end's slow path). */
  nodeStarts(): string[];
}

/** Options of startArchiverEnv. */
export interface ArchiverEnvOptions {
  name: string;
  slaves: number;
  /** Extra [DEFAULT] keys. */
  ini?: Record<string, string>;
  /** Extra postgresql.conf settings. */
  pgConf?: Record<string, string | number>;
  /** Run cmd_archiver -I (default true). */
  init?: boolean;
  /** Directory name for the ini file (to test odd paths). */
  iniDirName?: string;
  /** Indexes of the slaves whose sshd runs behind the 2 Mbit/s link of scripts/setup.sh (sshd.ts SLOW_LINK). */
  slowSlaves?: number[];
  /** Extra initdb arguments (e.g. `--wal-segsize=1`). */
  initdbArgs?: string[];
}

/** pid of the cmd_queue running for l_archivedir `dir` (its pid file names a live process), if any. */
export function queueRunnerPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, '.cmd_queue.pid'), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Starts sshds, PostgreSQL with archive_command = cmd_archiver, writes the ini and runs -I. */
export async function startArchiverEnv(o: ArchiverEnvOptions): Promise<ArchiverEnv> {
  const tmp = makeTempDir(`pitr-${o.name}-`);
  onCleanup(`archiver env ${o.name}`, () => tmp.remove());
  const dir = tmp.path;
  const slaves: TestSlave[] = [];
  for (let i = 0; i < o.slaves; i++) {
    const sshd = await startSshd({ slowLink: o.slowSlaves?.includes(i) ?? false });
    const rdir = join(dir, `slave${i}`, 'archive');
    mkdirSync(rdir, { recursive: true, mode: 0o700 });
    slaves.push({ sshd, rdir, knownHostsFile: sshd.knownHostsFile, entry: `${sshd.host}:${sshd.port}`, name: `${sshd.host}_${sshd.port}` });
  }
  const iniDir = join(dir, o.iniDirName ?? 'etc');
  mkdirSync(iniDir, { recursive: true });
  const ini = join(iniDir, 'cmd_archiver.ini');
  const lArchivedir = join(dir, 'queue');
  const alertsFile = join(dir, 'alerts.jsonl');
  // `node` for PostgreSQL's archive_command: note the start, then the real one.
  const stubDir = join(dir, 'node-stub');
  const startsFile = join(dir, 'node-starts');
  mkdirSync(stubDir);
  writeFileSync(join(stubDir, 'node'), `#!/bin/sh\nprintf '%s\\n' "$*" >>'${startsFile}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
  const pg = await startPostgres({
    name: o.name,
    parent: join(dir, 'pg'),
    conf: {
      archive_mode: 'on',
      archive_command: `'${FRONT_END} -C ${ini.replace(/'/g, "''")} -F %p'`,
      // Keep archived segments in pg_wal so that tests can compare bytes with the originals.
      wal_keep_size: "'2GB'",
      max_wal_size: "'4GB'",
      ...o.pgConf,
    },
    noStart: true,
    ...(o.initdbArgs ? { initdbArgs: o.initdbArgs } : {}),
  });
  const hook = (level: string): string => `${process.execPath} ${RECORDER} ${alertsFile} ${level}`;
  const writeIni = (over: Record<string, string> = {}): void => {
    const keys: Record<string, string> = {
      pgdata: pg.pgdata,
      l_archivedir: lArchivedir,
      r_archivedir: '/nonexistent/set-per-slave',
      slaves: slaves.map((s) => s.entry).join(', '),
      ssh_timeout: '5',
      queue_wait: '1',
      notify_ok: hook('OK'),
      notify_warning: hook('WARNING'),
      notify_critical: hook('CRITICAL'),
      ...o.ini,
      ...over,
    };
    const lines = ['[DEFAULT]', ...Object.entries(keys).map(([k, v]) => `${k}: ${v}`), ''];
    for (const s of slaves) {
      lines.push(`[${s.entry}]`, `r_archivedir: ${s.rdir}`, `ssh_identity: ${s.sshd.clientKey}`, `ssh_known_hosts: ${s.knownHostsFile}`, '');
    }
    writeFileSync(ini, lines.join('\n'), { mode: 0o600 });
  };
  writeIni();

  const run: ArchiverEnv['run'] = async (args, ro = {}) => {
    const t0 = performance.now();
    // The front end is run as PostgreSQL runs it: directly, with the counting `node` first on PATH.
    const front = ro.bin === FRONT_END;
    const env = { ...(front ? { PATH: `${stubDir}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}` } : {}), ...ro.env };
    const r = await runProgram(front ? [FRONT_END, ...args] : [process.execPath, ro.bin ?? CMD_ARCHIVER, ...args], {
      env,
      ...(ro.cwd !== undefined ? { cwd: ro.cwd } : {}),
      ...(ro.timeoutMs !== undefined ? { timeoutMs: ro.timeoutMs } : {}),
    });
    return { ...r, ms: performance.now() - t0 };
  };

  const daemonPid = (): number | undefined => queueRunnerPid(lArchivedir);
  // Runs before PostgreSQL is stopped (cleanups run newest first); the daemon would exit by itself soon after.
  onCleanup(
    `cmd_queue of ${o.name}`,
    () => {
      const pid = daemonPid();
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    },
    () => {
      const pid = daemonPid();
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    },
  );

  // PostgreSQL (and so archive_command) inherits the environment pg_ctl starts with.
  const path = process.env.PATH;
  process.env.PATH = [stubDir, ...(path ?? '/usr/bin:/bin').split(delimiter)].join(delimiter);
  try {
    await pg.start();
  } finally {
    process.env.PATH = path;
  }
  const env: ArchiverEnv = {
    dir,
    ini,
    lArchivedir,
    pg,
    slaves,
    writeIni,
    run,
    daemonPid,
    alerts: () => {
      if (!existsSync(alertsFile)) return [];
      return readFileSync(alertsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const r = JSON.parse(l) as { args: string[]; env: Record<string, string> };
          return {
            level: r.env.PITR_LEVEL!,
            event: r.env.PITR_EVENT!,
            message: r.env.PITR_MESSAGE!,
            args: r.args,
            ...(r.env.PITR_SLAVE !== undefined ? { slave: r.env.PITR_SLAVE } : {}),
          };
        });
    },
    stats: async () => {
      const r = (
        await pg.query<{ a: string; f: string; l: string | null }>(
          'SELECT archived_count AS a, failed_count AS f, last_archived_wal AS l FROM pg_stat_archiver',
        )
      )[0]!;
      return { archived: Number(r.a), failed: Number(r.f), last: r.l };
    },
    walFiles: (d) =>
      existsSync(d)
        ? readdirSync(d)
            .filter((n) => /^[0-9A-F]{24}$/.test(n))
            .sort()
        : [],
    archiveMore: async (n, timeoutMs = 120_000) => {
      const before = await env.stats();
      await makeSegments(pg, n);
      const st = await waitFor(
        `${n} archived`,
        async () => {
          const x = await env.stats();
          return x.archived - before.archived >= n ? x : undefined;
        },
        timeoutMs,
        20,
      );
      if (st.failed !== before.failed) throw new Error(`archive_command failed ${st.failed - before.failed} times`);
      const wal = env.walFiles(join(pg.pgdata, 'pg_wal'));
      return wal.slice(0, wal.indexOf(st.last!) + 1).slice(-n);
    },
    nodeStarts: () => (existsSync(startsFile) ? readFileSync(startsFile, 'utf8').split('\n').filter(Boolean) : []),
  };
  if (o.init !== false) {
    const r = await run(['-C', ini, '-I']);
    if (r.code !== 0) throw new Error(`cmd_archiver -I failed (${r.code}): ${r.stdout}${r.stderr}`);
  }
  return env;
}

/**
 * A real PostgreSQL cluster for one test file: initdb into a temp dir, a free port, the socket in
 * the temp dir, pg_ctl start/stop as the current (unprivileged) user. Always torn down.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { onCleanup } from './cleanup.js';
import { pgBinDir, testPgMajor } from './pg-versions.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** Kept for older callers: the rig's one free-port helper lives in ports.ts. */
export { freePort as freeTcpPort } from './ports.js';

/** Options for a test cluster. */
export interface PgClusterOptions {
  name?: string;
  major?: number;
  /** Extra postgresql.conf settings (values are written as given; quote strings yourself). */
  conf?: Record<string, string | number>;
  /** Use an existing (e.g. restored) data directory instead of running initdb. */
  pgdata?: string;
  /** Do not start the server after initdb. */
  noStart?: boolean;
  /** Parent directory for the cluster's dir (default: a new temp dir). */
  parent?: string;
  /** Extra initdb arguments (e.g. `--wal-segsize=1` for 1 MiB segments). */
  initdbArgs?: string[];
}

/** A running (or stopped) test cluster. */
export interface PgCluster {
  name: string;
  major: number;
  bindir: string;
  dir: string;
  pgdata: string;
  port: number;
  socketDir: string;
  logFile: string;
  user: string;
  start(): Promise<void>;
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  isRunning(): Promise<boolean>;
  client(database?: string): Promise<pg.Client>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  scalar<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  /** Appends settings to postgresql.conf (takes effect on reload/restart). */
  setConf(conf: Record<string, string | number>): Promise<void>;
  reload(): Promise<void>;
  destroy(): Promise<void>;
}

/** postgresql.conf lines from a settings map. */
export function confLines(conf: Record<string, string | number>): string {
  return Object.entries(conf)
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('');
}

/** The keys (see initCluster) this test process has already taken a template for. */
const templatesTaken = new Set<string>();

/**
 * Makes a fresh data directory at `pgdata`, as `initdb` with the rig's arguments would. initdb
 * costs 1-1.5 s of CPU per cluster on 2 cores (most of a whole run's ~110), so under
 * scripts/run-tests.mjs, which names a directory of its own in PITR_TEST_TEMPLATES (removed when
 * the run ends), the first cluster of each (initdb binary, user, arguments) in a test process is
 * a `cp -a` of a template the first initdb of the run left there. Every later cluster of the
 * same process runs initdb: clusters that meet (a master and an unrelated cluster in one file)
 * keep distinct system identifiers, which our commands compare; files run in separate processes
 * and never meet. The template is published by rename, so a half-written one is never used; two
 * files racing to publish it both keep their own initdb. Without PITR_TEST_TEMPLATES (the demo,
 * the benchmarks) every cluster runs initdb and nothing is left behind.
 */
async function initCluster(bindir: string, pgdata: string, user: string, args: string[]): Promise<void> {
  const initdb = join(bindir, 'initdb');
  const runInitdb = () =>
    run(initdb, ['-D', pgdata, '-U', user, '--auth=trust', '-E', 'UTF8', '--locale=C', '-N', ...args], { env: { ...process.env, LANG: 'C' } });
  const cache = process.env.PITR_TEST_TEMPLATES;
  if (!cache) return void (await runInitdb());
  const key = createHash('sha256')
    .update(JSON.stringify([initdb, statSync(initdb).mtimeMs, user, args]))
    .digest('hex')
    .slice(0, 16);
  const template = join(cache, key);
  const first = !templatesTaken.has(key);
  templatesTaken.add(key);
  if (first && existsSync(join(template, 'PG_VERSION'))) {
    await run('cp', ['-a', '--', template, pgdata]);
    return;
  }
  await runInitdb();
  if (!first || existsSync(template)) return;
  const staging = `${template}.${process.pid}.tmp`;
  try {
    await run('cp', ['-a', '--', pgdata, staging]);
    await fsp.rename(staging, template);
  } catch {
    await fsp.rm(staging, { recursive: true, force: true }); // another file published it first
  }
}

/** Creates (initdb) and starts a cluster; registered for teardown. */
export async function startPostgres(opts: PgClusterOptions = {}): Promise<PgCluster> {
  const major = opts.major ?? testPgMajor();
  const bindir = pgBinDir(major);
  const name = opts.name ?? 'pg';
  const dir = opts.parent ?? mkdtempSync(join(tmpdir(), `pitr-${name}-`));
  const pgdata = opts.pgdata ?? join(dir, 'data');
  const socketDir = join(dir, 'sock');
  const logFile = join(dir, `${name}.log`);
  const user = userInfo().username;
  await fsp.mkdir(socketDir, { recursive: true, mode: 0o700 });
  const port = await freePort();
  if (!opts.pgdata) await initCluster(bindir, pgdata, user, opts.initdbArgs ?? []);
  await fsp.appendFile(
    join(pgdata, 'postgresql.conf'),
    `\n# pitrtools test rig\n${confLines({
      port,
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${socketDir}'`,
      wal_level: 'replica',
      max_wal_senders: 10,
      shared_buffers: '32MB',
      logging_collector: 'off',
      log_line_prefix: "'%m [%p] '",
      ...opts.conf,
    })}`,
  );
  const pgCtl = join(bindir, 'pg_ctl');
  const cluster: PgCluster = {
    name,
    major,
    bindir,
    dir,
    pgdata,
    port,
    socketDir,
    logFile,
    user,
    async start() {
      await run(pgCtl, ['-D', pgdata, '-l', logFile, '-w', '-t', '60', 'start']);
    },
    async stop(mode = 'fast') {
      await run(pgCtl, ['-D', pgdata, '-m', mode, '-w', '-t', '60', 'stop']).catch(() => undefined);
    },
    async isRunning() {
      const r = spawnSync(pgCtl, ['-D', pgdata, 'status']);
      return r.status === 0;
    },
    async client(database = 'postgres') {
      const c = new pg.Client({ host: socketDir, port, user, database });
      await c.connect();
      return c;
    },
    async query(sql, params) {
      const c = await cluster.client();
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    async scalar(sql, params) {
      const rows = await cluster.query<Record<string, unknown>>(sql, params);
      return Object.values(rows[0] ?? {})[0] as never;
    },
    async setConf(conf) {
      await fsp.appendFile(join(pgdata, 'postgresql.conf'), confLines(conf));
    },
    async reload() {
      await run(pgCtl, ['-D', pgdata, 'reload']);
    },
    async destroy() {
      await cluster.stop('immediate');
      if (!process.env.PITR_TEST_KEEP && !opts.parent) await fsp.rm(dir, { recursive: true, force: true });
    },
  };
  onCleanup(
    `postgres ${name}`,
    () => cluster.destroy(),
    () => {
      spawnSync(pgCtl, ['-D', pgdata, '-m', 'immediate', 'stop']);
      if (!process.env.PITR_TEST_KEEP && !opts.parent) rmSync(dir, { recursive: true, force: true });
    },
  );
  if (!opts.noStart) await cluster.start();
  return cluster;
}

/** Switches WAL `n` times with a little data in between, so `n` segments become ready to archive. */
export async function makeSegments(c: PgCluster, n: number): Promise<void> {
  const client = await c.client();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS pitr_burst (i int, pad text)');
    for (let i = 0; i < n; i++) {
      await client.query("INSERT INTO pitr_burst SELECT g, repeat('x', 100) FROM generate_series(1, 100) g");
      await client.query('SELECT pg_switch_wal()');
    }
  } finally {
    await client.end();
  }
}

/**
 * SQL that switches WAL and names the segment the switch finished: the last one PostgreSQL must archive.
 * `pg_walfile_name(pg_switch_wal())` is not that on every major. When nothing was written since the
 * last switch (archive_timeout got there first), pg_switch_wal() does nothing and returns the segment
 * boundary, and PostgreSQL 17 made pg_walfile_name() name the segment that starts at a boundary
 * (XLByteToSeg) where 14 to 16 named the one that ends there (XLByteToPrevSeg): on 17+ that is the
 * unfinished segment, which is not archived until something else switches it. The byte before the
 * returned LSN is in the finished segment on every major.
 */
export const SWITCH_WAL_SQL = 'SELECT pg_walfile_name(pg_switch_wal() - 1)';

/** Switches WAL on `c` and returns the name of the segment the switch finished (see SWITCH_WAL_SQL). */
export async function switchWal(c: Pick<PgCluster, 'scalar'>): Promise<string> {
  return String(await c.scalar(SWITCH_WAL_SQL));
}

/** Polls `fn` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

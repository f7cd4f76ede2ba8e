/**
 * A real etcd and real Patroni nodes for test/patroni.test.ts, all on 127.0.0.1 as the test's
 * (unprivileged) user: Debian's etcd-server 3.4 and patroni 3.0 (scripts/setup.sh installs them),
 * PostgreSQL 15 from /usr/lib/postgresql/15/bin (the newest major Patroni 3.0 knows). Patroni
 * talks to etcd through its v3 API (`etcd3:`), which etcd 3.4 serves without --enable-v2.
 * Every process is registered with cleanup.ts and killed (-9) at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { onCleanup } from './cleanup.js';
import { waitFor } from './postgres.js';
import { freePort } from './ports.js';

/** PostgreSQL 15: Debian's own major, and the newest Patroni 3.0's parameter table knows (patroni/postgresql/validator.py). */
export const PATRONI_PG_BIN = '/usr/lib/postgresql/15/bin';
const PATRONI = '/usr/bin/patroni';
const ETCD = '/usr/bin/etcd';

/** Throws, with the fix, when patroni, etcd or PostgreSQL 15 is missing: the test fails, never skips. */
export function requirePatroni(): void {
  for (const p of [PATRONI, ETCD, join(PATRONI_PG_BIN, 'postgres')]) {
    if (!existsSync(p))
      throw new Error(`${p} is missing: run \`bash scripts/setup.sh\` as root (it installs patroni, etcd-server and postgresql-15 with apt-get)`);
  }
}

/** A YAML document from plain data: mappings and lists in block style, every scalar as a JSON (= YAML double-quoted) string or number. */
export function toYaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) return v.map((x) => `${indent}- ${isBlock(x) ? `\n${toYaml(x, `${indent}  `)}` : `${scalar(x)}\n`}`).join('');
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${indent}${k}:${isBlock(x) ? `\n${toYaml(x, `${indent}  `)}` : ` ${scalar(x)}\n`}`)
    .join('');
}
const isBlock = (x: unknown): boolean => typeof x === 'object' && x !== null && Object.keys(x).length > 0;
const scalar = (x: unknown): string => (typeof x === 'object' ? (Array.isArray(x) ? '[]' : '{}') : JSON.stringify(x));

/** A running etcd. */
export interface Etcd {
  endpoint: string;
  dir: string;
}

/** Starts one etcd member on free loopback ports, data in `<dir>/etcd`; resolves once it reports healthy. */
export async function startEtcd(dir: string): Promise<Etcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${client}`;
  const log = openSync(join(dir, 'etcd.log'), 'a');
  const child = spawn(
    ETCD,
    [
      '--name',
      'e1',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://${endpoint}`,
      '--advertise-client-urls',
      `http://${endpoint}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `e1=http://127.0.0.1:${peer}`,
      '--listen-metrics-urls',
      `http://127.0.0.1:${await freePort()}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  killOnCleanup('etcd', child);
  await waitFor(
    'etcd to be healthy',
    async () => {
      if (child.exitCode !== null) throw new Error(`etcd exited (${child.exitCode}): ${readFileSync(join(dir, 'etcd.log'), 'utf8').slice(-2000)}`);
      const r = await fetch(`http://${endpoint}/health`).catch(() => undefined);
      return r?.ok === true;
    },
    60_000,
    200,
  );
  return { endpoint, dir };
}

function killOnCleanup(name: string, child: ChildProcess): void {
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  onCleanup(name, kill, kill);
}

/** One Patroni node. */
export interface PatroniNode {
  name: string;
  dir: string;
  pgdata: string;
  pgPort: number;
  restPort: number;
  socketDir: string;
  yamlFile: string;
  logFile: string;
  /** The YAML Patroni runs with (as written to yamlFile). */
  yaml: string;
  /** Starts the patroni process (it bootstraps, creates a replica or starts the existing data directory). */
  start(): void;
  /** kill -9 of the patroni process and of its postmaster: a host that dies. */
  kill9(): Promise<void>;
  /** GET /patroni: role ('master' or 'primary' for the leader, 'replica'), state, timeline; undefined while it does not answer. */
  status(): Promise<{ role: string; state: string; timeline?: number } | undefined>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Settings of a node that the test chooses (the rest is fixed here). */
export interface NodeOptions {
  scope: string;
  name: string;
  dir: string;
  etcd: Etcd;
  /** postgresql.parameters of this node (archive_command ...). */
  parameters: Record<string, string | number>;
  /** bootstrap.dcs.postgresql.parameters (the same on every node; only the first bootstrap uses them). */
  dcsParameters: Record<string, string | number>;
  /** postgresql.recovery_conf (restore_command). */
  recoveryConf: Record<string, string>;
  /** postgresql.create_replica_methods and the sections they name. */
  replicaMethods: { methods: string[]; sections: Record<string, Record<string, string>> };
}

/** Writes the node's YAML (does not start it). */
export async function makePatroniNode(o: NodeOptions): Promise<PatroniNode> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const [pgPort, restPort] = [await freePort(), await freePort()];
  const pgdata = join(o.dir, 'data');
  const socketDir = join(o.dir, 'sock');
  mkdirSync(socketDir, { mode: 0o700 });
  const user = userInfo().username;
  const hba = ['local all all trust', 'host all all 127.0.0.1/32 trust', 'local replication all trust', 'host replication all 127.0.0.1/32 trust'];
  const config = {
    scope: o.scope,
    name: o.name,
    restapi: { listen: `127.0.0.1:${restPort}`, connect_address: `127.0.0.1:${restPort}` },
    etcd3: { hosts: o.etcd.endpoint },
    watchdog: { mode: 'off' },
    bootstrap: {
      // A dead leader's key expires after ttl: short, so a failover takes seconds on a test machine.
      dcs: {
        ttl: 10,
        loop_wait: 1,
        retry_timeout: 3,
        maximum_lag_on_failover: 1073741824,
        postgresql: { use_pg_rewind: false, use_slots: true, parameters: o.dcsParameters },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
    },
    postgresql: {
      listen: `127.0.0.1:${pgPort}`,
      connect_address: `127.0.0.1:${pgPort}`,
      data_dir: pgdata,
      bin_dir: PATRONI_PG_BIN,
      pgpass: join(o.dir, 'pgpass'),
      authentication: { superuser: { username: user }, replication: { username: user } },
      pg_hba: hba,
      parameters: { unix_socket_directories: socketDir, shared_buffers: '32MB', ...o.parameters },
      recovery_conf: o.recoveryConf,
      create_replica_methods: o.replicaMethods.methods,
      ...o.replicaMethods.sections,
    },
  };
  const yaml = toYaml(config);
  const yamlFile = join(o.dir, 'patroni.yml');
  writeFileSync(yamlFile, yaml, { mode: 0o600 });
  const logFile = join(o.dir, 'patroni.log');
  let child: ChildProcess | undefined;
  const postmasterPid = (): number | undefined => {
    try {
      return Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const stopAll = (): void => {
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (existsSync(join(pgdata, 'postmaster.pid')))
      spawnSync(join(PATRONI_PG_BIN, 'pg_ctl'), ['-D', pgdata, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
    // cmd_archiver's cmd_queue of this node (l_archivedir = <dir>/queue) ends with its postmaster; do not wait for that.
    try {
      process.kill(Number(readFileSync(join(o.dir, 'queue', '.cmd_queue.pid'), 'utf8').trim()), 'SIGKILL');
    } catch {
      /* none */
    }
  };
  onCleanup(`patroni ${o.name}`, stopAll, stopAll);
  const node: PatroniNode = {
    name: o.name,
    dir: o.dir,
    pgdata,
    pgPort,
    restPort,
    socketDir,
    yamlFile,
    logFile,
    yaml,
    start() {
      const log = openSync(logFile, 'a');
      child = spawn(PATRONI, [yamlFile], { stdio: ['ignore', log, log], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
      closeSync(log);
    },
    async kill9() {
      const pm = postmasterPid();
      if (child) {
        try {
          child.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (pm) {
        try {
          process.kill(pm, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await waitFor(
        `${o.name}'s patroni and postmaster to be gone`,
        async () => (child === undefined || child.exitCode !== null || child.signalCode !== null) && (pm === undefined || !alive(pm)),
        20_000,
      );
    },
    async status() {
      const r = await fetch(`http://127.0.0.1:${restPort}/patroni`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
      if (r === undefined) return undefined;
      return (await r.json()) as { role: string; state: string; timeline?: number };
    },
    async query(sql, params) {
      const c = new pg.Client({ host: socketDir, port: pgPort, user, database: 'postgres' });
      await c.connect();
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
  };
  return node;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until one of `nodes` is the running leader and returns it. */
export async function waitForLeader(nodes: PatroniNode[], ms = 120_000): Promise<PatroniNode> {
  return waitFor(
    `a Patroni leader among ${nodes.map((n) => n.name).join(', ')}`,
    async () => {
      for (const n of nodes) {
        const s = await n.status();
        if (s && (s.role === 'master' || s.role === 'primary') && s.state === 'running') {
          const rw = await n.query<{ ro: boolean }>('SELECT pg_is_in_recovery() AS ro').catch(() => undefined);
          if (rw?.[0]?.ro === false) return n;
        }
      }
      return undefined;
    },
    ms,
    500,
  );
}

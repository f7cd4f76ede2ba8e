/**
 * Three (or more) "hosts" on one machine for the life after a failover: a master M and standbys
 * S1, S2, ... Each host is its own loopback address (127.0.0.1 for M, 127.0.0.2, .3, ... for the
 * standbys) served by ONE sshd listening on all of them, so cmd_archiver's slaves (host:port)
 * are distinct; each PostgreSQL has its own port and directories and also listens on its
 * host's address (streaming connects there). M archives with cmd_archiver to every standby's
 * archivedir; the standbys are made with -I, -B, -S (streaming, or archive-only), and each has an
 * archiver_config listing the other standbys, used once it is promoted. With `switchover`, M can
 * take part in a switchover as role-swap.ts does for two hosts: M gets a cmd_standby ini of its
 * own (its pgdata, master = the first standby, streaming, pg_conf files like the standbys') that
 * every standby names in master_standby_config. With `slots`, every ini (M's too) uses a
 * replication slot named pitrtools_<name>. Built on standby-env.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { freeTcpPort, startPostgres, waitFor, type PgCluster } from './postgres.js';
import { CMD_ARCHIVER, FRONT_END, RECORDER } from './archiver-env.js';
import { startSshd, type SshdHandle } from './sshd.js';
import { ctxFor, killQueue, onCleanupStandby, prepareMaster, standbyQuery, waitOnStandby, writeStandbyConfFiles } from './standby-env.js';
import { makeTempDir } from './tmp.js';

const CMD_STANDBY = new URL('../../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;

/** One standby host. */
export interface ClusterNode {
  name: string;
  /** Its "host": a loopback address of its own. */
  host: string;
  dir: string;
  pgdata: string;
  archivedir: string;
  ini: string;
  /** The cmd_archiver.ini it uses once it is master (archiver_config). */
  archiverIni: string;
  /** l_archivedir of that ini. */
  queue: string;
  port: number;
  socketDir: string;
  logfile: string;
  streaming: boolean;
  /** The master's cluster (for standby-env helpers: its user). */
  master: PgCluster;
}

/** The whole cluster. */
export interface ClusterEnv {
  master: PgCluster;
  /** M's own cmd_standby ini (master = the first standby), with `switchover`. */
  masterIni?: string;
  sshd: SshdHandle;
  dir: string;
  nodes: ClusterNode[];
  node(name: string): ClusterNode;
  /** The JSON lines every node's notify hooks recorded: { args, env: { PITR_EVENT, ... } }. */
  alerts(): Array<{ args: string[]; env: Record<string, string> }>;
  /** Runs SQL on a node (M or a standby) through its socket. */
  query<T = Record<string, unknown>>(on: 'M' | ClusterNode, sql: string): Promise<T[]>;
  /** Waits until `sql` on `node` returns `want` as its first column. */
  waitFor(node: ClusterNode, what: string, sql: string, want: unknown, ms?: number): Promise<void>;
  /** pg_ctl stop -m immediate of a standby's server (a host that dies). */
  crash(node: ClusterNode): void;
  /** INSERT INTO t VALUES (value) on `from` (table t exists from the start), then waits until each of `to` has that row. */
  writeAndWait(from: 'M' | ClusterNode, to: ClusterNode[], value: number, ms?: number): Promise<void>;
}

/** Options: the standbys, in order; S1 gets 127.0.0.2. */
export interface ClusterOptions {
  standbys: Array<{ name: string; streaming?: boolean }>;
  /** M gets a cmd_standby ini (master = the first standby) named by every standby's master_standby_config. */
  switchover?: boolean;
  /** use_replication_slots on in every ini, slot_name pitrtools_<name> (M: pitrtools_m). */
  slots?: boolean;
}

/** Starts sshd, M (archiving to every standby), and makes every standby with -I, -B, -S. */
export async function clusterEnv(o: ClusterOptions): Promise<ClusterEnv> {
  const dir = makeTempDir('pitr-cluster-').path;
  const hosts = o.standbys.map((_, i) => `127.0.0.${i + 2}`);
  const sshd = await startSshd({ extraConfig: hosts.map((h) => `ListenAddress ${h}`) });
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, ['127.0.0.1', ...hosts].map((h) => `[${h}]:${sshd.port} ${sshd.hostPublicKey}\n`).join(''), { mode: 0o600 });
  const alertsFile = join(dir, 'alerts.jsonl');
  const hook = (level: string): string => `${process.execPath} ${RECORDER} ${alertsFile} ${level}`;
  const ssh = { ssh_identity: sshd.clientKey, ssh_known_hosts: knownHosts, ssh_timeout: '5' };
  const nodes: Array<Omit<ClusterNode, 'master'>> = [];
  for (const [i, s] of o.standbys.entries()) {
    const ndir = join(dir, s.name);
    mkdirSync(join(ndir, 'archive'), { recursive: true, mode: 0o700 });
    mkdirSync(join(ndir, 'sock'), { mode: 0o700 });
    nodes.push({
      name: s.name,
      host: hosts[i]!,
      dir: ndir,
      pgdata: join(ndir, 'data'),
      archivedir: join(ndir, 'archive'),
      ini: join(ndir, 'cmd_standby.ini'),
      archiverIni: join(ndir, 'cmd_archiver.ini'),
      queue: join(ndir, 'queue'),
      port: await freeTcpPort(),
      socketDir: join(ndir, 'sock'),
      logfile: join(ndir, 'standby.log'),
      streaming: s.streaming ?? true,
    });
  }
  // An archiver ini shipping to `to`, for the cluster in `pgdata`.
  const archiverIni = (file: string, pgdata: string, queue: string, to: typeof nodes): void => {
    const lines = [
      '[DEFAULT]',
      `pgdata: ${pgdata}`,
      `l_archivedir: ${queue}`,
      'r_archivedir: /nonexistent/set-per-slave',
      `slaves: ${to.map((n) => `${n.host}:${sshd.port}`).join(', ')}`,
      ...Object.entries(ssh).map(([k, v]) => `${k}: ${v}`),
      'queue_wait: 1',
      '',
    ];
    for (const n of to) lines.push(`[${n.host}:${sshd.port}]`, `r_archivedir: ${n.archivedir}`, '');
    writeFileSync(file, lines.join('\n'), { mode: 0o600 });
  };
  const mIni = join(dir, 'master-cmd_archiver.ini');
  const mQueue = join(dir, 'master-queue');
  archiverIni(mIni, join(dir, 'master', 'data'), mQueue, nodes);
  const master = await startPostgres({
    name: 'master',
    parent: join(dir, 'master'),
    conf: { archive_mode: 'on', archive_command: `'${FRONT_END} -C ${mIni} -F %p'`, max_wal_senders: 10 },
  });
  onCleanup(
    'cmd_queue of the master',
    () => killQueue(mQueue),
    () => killQueue(mQueue),
  );
  const init = spawnSync(process.execPath, [CMD_ARCHIVER, '-C', mIni, '-I'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`cmd_archiver -I failed: ${init.stdout}${init.stderr}`);
  await prepareMaster({ master }, 'CREATE TABLE t (i int)');
  const slotKeys = (name: string): Record<string, string> => (o.slots ? { use_replication_slots: 'on', slot_name: `pitrtools_${name}` } : {});
  // M as a standby of the first standby (the old master's side of a switchover): its conf files
  // keep its port and socket, like the standbys' (archive_mode on: it archives once promoted again).
  let masterIni: string | undefined;
  const switchoverKeys: Record<string, string> = {};
  if (o.switchover) {
    const s1 = nodes[0]!;
    const mDir = join(dir, 'master');
    const mConf = join(mDir, 'conf');
    mkdirSync(mConf, { mode: 0o700 });
    mkdirSync(join(mDir, 'archive'), { mode: 0o700 });
    writeStandbyConfFiles(mConf, master.port, master.socketDir, { archive_mode: 'on' });
    masterIni = join(mDir, 'cmd_standby.ini');
    const ini: Record<string, string> = {
      master_public_ip: s1.host,
      user: sshd.user,
      port: String(s1.port),
      master_local_ip: '127.0.0.1',
      ssh_port: String(sshd.port),
      ...ssh,
      pgdata: master.pgdata,
      archivedir: join(mDir, 'archive'),
      pg_ctl: join(master.bindir, 'pg_ctl'),
      logfile: master.logFile,
      rsync_threads: '3',
      pg_conf: join(mConf, 'postgresql.conf'),
      pg_hba_conf: join(mConf, 'pg_hba.conf'),
      use_streaming_replication: 'on',
      repl_db_user: master.user,
      sslmode: 'disable',
      archiver_config: mIni,
      master_cmd_standby: `${process.execPath} ${CMD_STANDBY}`,
      master_standby_config: s1.ini,
      notify_ok: hook('OK'),
      notify_warning: hook('WARNING'),
      notify_critical: hook('CRITICAL'),
      ...slotKeys('m'),
    };
    writeFileSync(
      masterIni,
      `[DEFAULT]\n${Object.entries(ini)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n')}\n`,
      { mode: 0o600 },
    );
    Object.assign(switchoverKeys, { master_cmd_standby: `${process.execPath} ${CMD_STANDBY}`, master_standby_config: masterIni });
  }
  const full: ClusterNode[] = nodes.map((n) => ({ ...n, master }));
  const [{ initStandby }, { basebackup }, { startStandby }] = await Promise.all([
    import('../../packages/standby/src/commands/init.js'),
    import('../../packages/standby/src/commands/basebackup.js'),
    import('../../packages/standby/src/commands/standby.js'),
  ]);
  // The standbys are independent hosts: made side by side (concurrent base backups are fine for PostgreSQL).
  await Promise.all(
    full.map(async (n) => {
      const confDir = join(n.dir, 'conf');
      mkdirSync(confDir, { mode: 0o700 });
      // archive_mode = on: a standby does not archive until promoted; then -F999 sets archive_command.
      writeStandbyConfFiles(confDir, n.port, n.socketDir, {
        listen_addresses: `'127.0.0.1,${n.host}'`,
        archive_mode: 'on',
      });
      archiverIni(
        n.archiverIni,
        n.pgdata,
        n.queue,
        nodes.filter((o2) => o2.name !== n.name),
      );
      onCleanupStandby(n.pgdata, n.archivedir, master.bindir);
      onCleanup(
        `cmd_queue of ${n.name}`,
        () => killQueue(n.queue),
        () => killQueue(n.queue),
      );
      const ini: Record<string, string> = {
        master_public_ip: '127.0.0.1',
        user: sshd.user,
        port: String(master.port),
        master_local_ip: '127.0.0.1',
        ssh_port: String(sshd.port),
        ...ssh,
        pgdata: n.pgdata,
        archivedir: n.archivedir,
        pg_ctl: join(master.bindir, 'pg_ctl'),
        logfile: n.logfile,
        rsync_threads: '3',
        pg_conf: join(confDir, 'postgresql.conf'),
        pg_hba_conf: join(confDir, 'pg_hba.conf'),
        use_streaming_replication: n.streaming ? 'on' : 'off',
        repl_db_user: master.user,
        sslmode: 'disable',
        archiver_config: n.archiverIni,
        notify_ok: hook('OK'),
        notify_warning: hook('WARNING'),
        notify_critical: hook('CRITICAL'),
        ...switchoverKeys,
        ...(n.streaming ? slotKeys(n.name) : {}),
      };
      writeFileSync(
        n.ini,
        `[DEFAULT]\n${Object.entries(ini)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n')}\n`,
        { mode: 0o600 },
      );
      const ctx = ctxFor(n);
      await initStandby(ctx);
      await basebackup(ctx);
      await startStandby(ctx, { iniPath: n.ini });
    }),
  );
  const query: ClusterEnv['query'] = (on, sql) => (on === 'M' ? master.query(sql) : standbyQuery(on, sql)) as never;
  return {
    master,
    sshd,
    dir,
    nodes: full,
    query,
    ...(masterIni ? { masterIni } : {}),
    writeAndWait: async (from, to, value, ms) => {
      await query(from, `INSERT INTO t VALUES (${Number(value)})`);
      for (const n of to) await waitOnStandby(n, `row ${value} on ${n.name}`, `SELECT count(*)::int FROM t WHERE i = ${Number(value)}`, 1, ms ?? 60_000);
    },
    node: (name) => {
      const n = full.find((x) => x.name === name);
      if (!n) throw new Error(`no node ${name}`);
      return n;
    },
    alerts: () => {
      let text = '';
      try {
        text = readFileSync(alertsFile, 'utf8');
      } catch {
        /* none yet */
      }
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { args: string[]; env: Record<string, string> });
    },
    waitFor: (node, what, sql, want, ms) => waitOnStandby(node, `${what} on ${node.name}`, sql, want, ms),
    crash: (node) => {
      spawnSync(join(master.bindir, 'pg_ctl'), ['-D', node.pgdata, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
    },
  };
}

/** Waits until `node`'s archivedir holds a file for which `pred` holds; returns the listing. */
export async function waitArchived(node: ClusterNode, what: string, pred: (files: string[]) => boolean, ms = 60_000): Promise<string[]> {
  const { readdirSync } = await import('node:fs');
  return waitFor(
    `${what} in ${node.name}'s archivedir`,
    async () => {
      const files = readdirSync(node.archivedir)
        .filter((f) => !f.startsWith('.'))
        .sort();
      return pred(files) ? files : undefined;
    },
    ms,
    200,
  );
}

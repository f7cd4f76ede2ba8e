/**
 * pg_rewind for --rejoin: finding a pg_rewind of the data directory's major, its preconditions
 * (wal_log_hints or data checksums, read from pg_control by pg_controldata), running it against the
 * new master through the SSH tunnel, and keeping this host's own files: pg_rewind copies the
 * source's configuration files and removes what the source does not have.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { errorCode } from '@pitrtools/core/errors';
import { writeFileAtomic, fsyncDir } from '@pitrtools/core/fs/atomic';
import type { Logger } from '@pitrtools/core/log';
import { binaryMajor, type PgBinaries } from '@pitrtools/core/pg/binaries';
import { runProcess } from '@pitrtools/core/proc';
import { connectSsh } from '@pitrtools/core/ssh/index';
import { masterSshTarget } from '../master-link.js';
import { openPgTunnel } from '../receiver/tunnel.js';
import { conninfo } from '../recovery/render.js';

/** The pg_rewind to use, or why there is none. */
export type RewindBinary = { path: string } | { missing: string };

/** pg_rewind of `bins.major` beside the server binaries, else in pg_bin or includepath. */
export function findPgRewind(config: StandbyConfig, bins: PgBinaries): RewindBinary {
  const dirs = [bins.bindir, ...(config.pg_bin ? [config.pg_bin] : []), ...(config.includepath ?? [])];
  const tried: string[] = [];
  for (const dir of [...new Set(dirs)]) {
    const path = join(dir, 'pg_rewind');
    const major = binaryMajor(path);
    if (major === bins.major) return { path };
    tried.push(major === undefined ? `${dir} (none)` : `${dir} (PostgreSQL ${major})`);
  }
  return { missing: `no pg_rewind of PostgreSQL ${bins.major} was found (tried ${tried.join(', ')}); set pg_bin or includepath to the directory that has it` };
}

/**
 * Why pg_rewind cannot work on `pgdata`, or undefined: it needs wal_log_hints = on or data checksums
 * in pg_control (pg_rewind.c checks the same fields). Read with the pg_controldata beside `pgRewind`;
 * without one, pg_rewind itself decides (undefined).
 */
export async function rewindBlocker(pgRewind: string, pgdata: string): Promise<string | undefined> {
  const r = await runProcess([join(dirname(pgRewind), 'pg_controldata'), '-D', pgdata], { env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, timeoutMs: 30_000 });
  if (r.spawnError || r.code !== 0) return undefined;
  const field = (label: string): string | undefined => new RegExp(`^${label}:\\s*(\\S+)`, 'm').exec(r.stdout)?.[1];
  const hints = field('wal_log_hints setting');
  const checksums = field('Data page checksum version');
  if (hints === 'on' || (checksums !== undefined && checksums !== '0')) return undefined;
  return (
    `the old master ran with wal_log_hints = off and without data checksums (pg_control of ${pgdata}), which pg_rewind needs; ` +
    `for next time set wal_log_hints = on in its postgresql.conf (takes a restart), or enable checksums on the stopped cluster: pg_checksums --enable -D ${pgdata}`
  );
}

/** Names in the top of pgdata that stay this host's own across pg_rewind. */
const OWN_CONF = ['postgresql.conf', 'pg_hba.conf', 'pg_ident.conf'];
/** Bigger own files (a server log) are not kept in memory; pg_rewind replaces them. */
const KEEP_MAX = 16 * 1024 * 1024;

/** The files kept: name to content and mode; restore() puts them back and removes the source's pitrtools* files. */
export interface KeptFiles {
  names: string[];
  restore(): Promise<void>;
}

/** Reads this host's configuration files and pitrtools* state files of pgdata, to be put back after pg_rewind. */
export async function keepOwnFiles(pgdata: string, log: Logger): Promise<KeptFiles> {
  const kept = new Map<string, { data: Buffer; mode: number }>();
  for (const ent of await fsp.readdir(pgdata, { withFileTypes: true })) {
    if (!ent.isFile() || !(OWN_CONF.includes(ent.name) || ent.name.startsWith('pitrtools'))) continue;
    const path = join(pgdata, ent.name);
    const st = await fsp.stat(path);
    if (st.size > KEEP_MAX) {
      log.warning(`${path} is too big to keep across pg_rewind (${st.size} bytes): the new master's copy replaces it`);
      continue;
    }
    kept.set(ent.name, { data: await fsp.readFile(path), mode: st.mode & 0o777 });
  }
  return {
    names: [...kept.keys()],
    restore: async () => {
      for (const ent of await fsp.readdir(pgdata, { withFileTypes: true }).catch((e: unknown) => (errorCode(e) === 'ENOENT' ? [] : Promise.reject(e)))) {
        if (ent.isFile() && ent.name.startsWith('pitrtools') && !kept.has(ent.name)) await fsp.rm(join(pgdata, ent.name), { force: true });
      }
      for (const [name, f] of kept) await writeFileAtomic(join(pgdata, name), f.data, f.mode);
      await fsyncDir(pgdata);
    },
  };
}

/** How pg_rewind ended: ok, or the last line it said. */
export type RewindRun = { ok: true } | { ok: false; why: string };

/**
 * Runs `pg_rewind -D pgdata --source-server <conninfo>` where the conninfo leads through a 0700 Unix
 * socket tunnel over SSH to the master's PostgreSQL (master_local_ip:port as seen from the master),
 * as master_db_user; libpq finds a password in ~/.pgpass under host `localhost` and the master's port.
 * pg_rewind (13+) first finishes crash recovery of a target that was not shut down cleanly. Not ok
 * either when pg_rewind says "no rewind required" (we run it only when one is needed).
 */
export async function runPgRewind(config: StandbyConfig, pgRewind: string, log: Logger): Promise<RewindRun> {
  const session = await connectSsh(masterSshTarget(config, log), log);
  try {
    const tunnel = await openPgTunnel(session, config.master_local_ip, config.port);
    try {
      const source = conninfo([
        ['host', tunnel.dir],
        ['port', String(tunnel.port)],
        ['user', config.master_db_user],
        ['dbname', config.master_db],
        ['application_name', 'pitrtools rejoin'],
      ]);
      const argv = [pgRewind, '-D', config.pgdata, '--source-server', source, '--progress'];
      log.info(`running ${argv.join(' ')}`);
      let last = '';
      let noRewind = '';
      const r = await runProcess(argv, {
        onOutput: (_s, chunk) => {
          for (const line of chunk.split(/[\r\n]+/)) {
            if (line.trim() === '') continue;
            last = line.trim();
            log.debug(`pg_rewind: ${last}`);
            if (/no rewind required|on the same timeline/.test(last)) noRewind = last.replace(/^pg_rewind: /, '');
          }
        },
      });
      if (r.spawnError) return { ok: false, why: `cannot run ${pgRewind}: ${r.spawnError.message}` };
      if (r.code !== 0) return { ok: false, why: `pg_rewind failed (${r.signal ?? `exit ${r.code}`}): ${last.replace(/^pg_rewind: /, '')}` };
      // We only run it when our own reading of pg_control says a rewind is needed: pg_rewind changing nothing is a failure.
      if (noRewind) return { ok: false, why: `pg_rewind changed nothing although this server went past the fork (it said: ${noRewind})` };
      return { ok: true };
    } finally {
      await tunnel.close();
    }
  } finally {
    await session.close().catch(() => undefined);
  }
}

/**
 * For --rejoin and --switchover tests on top of standby-env: a second cmd_standby ini that makes
 * the rig's master a standby of the rig's standby (the "old master" side), both inis streaming,
 * each naming the other as master_standby_config, and a notify_ok hook that records events.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeIni, type StandbyEnv } from './standby-env.js';

const BIN = new URL('../../packages/standby/bin/cmd_standby.js', import.meta.url).pathname;
const RECORDER = new URL('./archiver-alert-recorder.mjs', import.meta.url).pathname;

/** The old master's side: its ini (master = the rig's standby) and where its hook events go. */
export interface OldMasterSide {
  ini: string;
  /** notify_ok records of both inis (one JSON line each). */
  events(): string[];
}

/**
 * Rewrites the standby's ini for streaming + switchover and writes the master's ini; `extra` goes
 * into both. `slots`: use_replication_slots on, the standby's slot pitrtools_s, the master's pitrtools_m.
 */
export function roleSwapInis(env: StandbyEnv, extra: Record<string, string> = {}, o: { slots?: boolean } = {}): OldMasterSide {
  const { master, sshd } = env;
  const mIni = join(env.dir, 'old-master.ini');
  const mArchive = join(env.dir, 'old-master-archive');
  mkdirSync(mArchive, { recursive: true, mode: 0o700 });
  const eventsFile = join(env.dir, 'events.jsonl');
  const common = {
    use_streaming_replication: 'on',
    repl_db_user: master.user,
    sslmode: 'disable',
    master_cmd_standby: `${process.execPath} ${BIN}`,
    notify_ok: `${process.execPath} ${RECORDER} ${eventsFile}`,
    ...extra,
  };
  writeIni(env, {
    pg_conf: join(env.dir, 'conf', 'postgresql.conf'),
    pg_hba_conf: join(env.dir, 'conf', 'pg_hba.conf'),
    master_standby_config: mIni,
    ...common,
    ...(o.slots ? { use_replication_slots: 'on', slot_name: 'pitrtools_s' } : {}),
  });
  const lines = {
    master_public_ip: '127.0.0.1',
    user: sshd.user,
    port: String(env.port),
    master_local_ip: '127.0.0.1',
    ssh_port: String(sshd.port),
    ssh_identity: sshd.clientKey,
    ssh_known_hosts: sshd.knownHostsFile,
    ssh_timeout: '5',
    pgdata: master.pgdata,
    archivedir: mArchive,
    pg_ctl: join(master.bindir, 'pg_ctl'),
    logfile: master.logFile,
    rsync_threads: '3',
    master_standby_config: env.ini,
    ...common,
    ...(o.slots ? { use_replication_slots: 'on', slot_name: 'pitrtools_m' } : {}),
  };
  writeFileSync(
    mIni,
    `[DEFAULT]\n${Object.entries(lines)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
  return {
    ini: mIni,
    events: () => {
      try {
        return readFileSync(eventsFile, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => String((JSON.parse(l) as { env: { PITR_EVENT: string } }).env.PITR_EVENT));
      } catch {
        return [];
      }
    },
  };
}

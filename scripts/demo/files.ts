/**
 * The files a DBA would write by hand for this set-up: the two ini files, the standby servers'
 * postgresql.conf / pg_hba.conf, the failover action and an alert hook that keeps a log.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One standby "host" of the demo (its sshd, its data directory, its archive). */
export interface StandbyHost {
  name: string;
  dir: string;
  pgdata: string;
  archivedir: string;
  port: number;
  socketDir: string;
  logfile: string;
  ini: string;
}

/** Writes an ini file from ordered key/value pairs, plus extra sections. */
export function writeIni(path: string, keys: Record<string, string | number>, sections: Record<string, Record<string, string>> = {}): void {
  const body = Object.entries(keys)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  const extra = Object.entries(sections)
    .map(
      ([name, kv]) =>
        `\n[${name}]\n${Object.entries(kv)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n')}`,
    )
    .join('\n');
  writeFileSync(path, `[DEFAULT]\n${body}\n${extra}\n`, { mode: 0o600 });
}

/** Lays out a standby host's directories and server configuration. */
export function standbyHost(root: string, name: string, port: number): StandbyHost {
  const dir = join(root, name);
  const socketDir = join(dir, 'run');
  const conf = join(dir, 'conf');
  for (const d of [dir, socketDir, conf]) mkdirSync(d, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(conf, 'postgresql.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${socketDir}'`,
      'shared_buffers = 32MB',
      'hot_standby = on',
      'wal_level = replica',
      "log_line_prefix = '%m [%p] '",
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  writeFileSync(
    join(conf, 'pg_hba.conf'),
    'local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n',
    { mode: 0o600 },
  );
  return {
    name,
    dir,
    port,
    socketDir,
    pgdata: join(dir, 'data'),
    archivedir: join(dir, 'archive'),
    logfile: join(dir, 'postgresql.log'),
    ini: join(dir, 'cmd_standby.ini'),
  };
}

/** The conf files of a standby host (written by standbyHost). */
export function confFiles(h: StandbyHost): { pg_conf: string; pg_hba_conf: string } {
  return { pg_conf: join(h.dir, 'conf', 'postgresql.conf'), pg_hba_conf: join(h.dir, 'conf', 'pg_hba.conf') };
}

/** An executable shell script (the demo's own hooks; no data is ever put into them). */
export function writeScript(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

/** A notify hook that appends `LEVEL EVENT: message` to a log, using only PITR_* variables. */
export function alertHook(root: string): { hook: string; log: string } {
  const log = join(root, 'alerts.log');
  const hook = writeScript(join(root, 'alert-hook.sh'), `printf '%s %s %s: %s\\n' "$(date +%H:%M:%S)" "$PITR_LEVEL" "$PITR_EVENT" "$PITR_MESSAGE" >> '${log}'`);
  return { hook, log };
}

/**
 * The base-backup methods of part (b), each into a fresh empty directory and each wrapped in
 * /usr/bin/time for its peak RSS (one fork more, the same for all three):
 * pg_basebackup -X stream -c fast (fsyncs), rsync -a over ssh between pg_backup_start and
 * pg_backup_stop like pitrtools 1.3's -B (no fsync), and our cmd_standby -B.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../packages/core/src/proc.js';
import type { SshdHandle } from '../test/rig/sshd.js';
import type { BaseMaster } from './base-master.js';
import { describeFailure, must } from './exec.js';
import { cmdStandbyBin, unavailableReason } from './ours.js';
import { timeArgv } from './rss.js';
import type { SshClient } from './ssh-client.js';

export interface BaseRunContext {
  dir: string;
  master: BaseMaster;
  rssFile: string;
}

export interface PreparedBase {
  /** Where the copy lands. */
  dest: string;
  /** The timed part. */
  run(): Promise<void>;
}

export interface BaseMethod {
  id: string;
  label: string;
  unavailable(): Promise<string | undefined>;
  /** Untimed set-up (directories, config, cmd_standby -I). */
  prepare(ctx: BaseRunContext): Promise<PreparedBase>;
}

/** pg_basebackup -D DIR -X stream -c fast over a TCP replication connection to 127.0.0.1. */
export function pgBasebackupMethod(): BaseMethod {
  return {
    id: 'pg_basebackup',
    label: 'pg_basebackup -X stream -c fast',
    unavailable: async () => undefined,
    async prepare({ dir, master, rssFile }) {
      const dest = join(dir, 'copy');
      const c = master.cluster;
      return {
        dest,
        run: async () => {
          await must([
            ...timeArgv(rssFile),
            join(c.bindir, 'pg_basebackup'),
            '-D',
            dest,
            '-X',
            'stream',
            '-c',
            'fast',
            '-h',
            '127.0.0.1',
            '-p',
            String(c.port),
            '-U',
            c.user,
            '-w',
          ]);
        },
      };
    },
  };
}

/**
 * rsync `flags` over ssh of the data directory (without pg_wal) into `dest`, inside
 * pg_backup_start/stop (pg_start_backup/pg_stop_backup before 15), and the backup_label written:
 * the original pitrtools' -B. `wrap` puts a prefix before rsync (/usr/bin/time, a namespace).
 */
export async function rsyncInBackupMode(o: {
  cluster: BaseMaster['cluster'];
  ssh: Pick<SshClient, 'login' | 'rsyncShell'>;
  dest: string;
  flags: string;
  wrap?: (argv: string[]) => string[];
}): Promise<void> {
  const c = o.cluster;
  const pre15 = c.major < 15;
  const db = await c.client();
  try {
    await db.query(pre15 ? "SELECT pg_start_backup('bench-rsync', true, false)" : "SELECT pg_backup_start('bench-rsync', true)");
    const rsync = [
      'rsync',
      o.flags,
      '--exclude=/pg_wal/*',
      '--exclude=/postmaster.pid',
      '--exclude=/postmaster.opts',
      '-e',
      o.ssh.rsyncShell,
      `${o.ssh.login}:${c.pgdata}/`,
      `${o.dest}/`,
    ];
    const argv = o.wrap ? o.wrap(rsync) : rsync;
    const r = await runProcess(argv, { timeoutMs: 30 * 60_000 });
    // 24: "some files vanished" (statistics temp files of a running server): normal for a live copy.
    if (r.code !== 0 && r.code !== 24) throw new Error(describeFailure(argv, r));
    const stop = await db.query<{ labelfile: string }>(
      pre15 ? 'SELECT labelfile FROM pg_stop_backup(false, true)' : 'SELECT labelfile FROM pg_backup_stop(true)',
    );
    writeFileSync(join(o.dest, 'backup_label'), stop.rows[0]!.labelfile);
  } finally {
    await db.end();
  }
}

/** rsync -a over ssh of the data directory (without pg_wal), inside pg_backup_start/stop. */
export function rsyncBaseMethod(ssh: () => SshClient): BaseMethod {
  return {
    id: 'rsync-ssh',
    label: 'rsync -a over ssh (in backup mode)',
    unavailable: async () => undefined,
    async prepare({ dir, master, rssFile }) {
      const dest = join(dir, 'copy');
      mkdirSync(dest);
      const c = master.cluster;
      const s = ssh();
      return {
        dest,
        async run() {
          await rsyncInBackupMode({ cluster: c, ssh: s, dest, flags: '-a', wrap: (argv) => [...timeArgv(rssFile), ...argv] });
        },
      };
    },
  };
}

/** cmd_standby -C INI -B (after an untimed cmd_standby -I), master reached through the loopback sshd. */
export function cmdStandbyMethod(sshd: () => SshdHandle): BaseMethod {
  return {
    id: 'cmd_standby',
    label: 'cmd_standby -B',
    unavailable: () => unavailableReason(cmdStandbyBin),
    async prepare({ dir, master, rssFile }) {
      const dest = join(dir, 'copy');
      const archive = join(dir, 'archive');
      mkdirSync(archive);
      const s = sshd();
      const ini = join(dir, 'cmd_standby.ini');
      writeFileSync(
        ini,
        [
          '[DEFAULT]',
          'master_public_ip: 127.0.0.1',
          `ssh_port: ${s.port}`,
          `user: ${s.user}`,
          `port: ${master.cluster.port}`,
          'master_local_ip: 127.0.0.1',
          `pgdata: ${dest}`,
          `archivedir: ${archive}`,
          `ssh_identity: ${s.clientKey}`,
          `ssh_known_hosts: ${s.knownHostsFile}`,
          '',
        ].join('\n'),
      );
      await must([process.execPath, cmdStandbyBin, '-C', ini, '-I'], { cwd: dir });
      return {
        dest,
        run: async () => {
          await must([...timeArgv(rssFile), process.execPath, cmdStandbyBin, '-C', ini, '-B'], { cwd: dir });
        },
      };
    },
  };
}

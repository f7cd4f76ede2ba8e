/**
 * SlaveLink over the core SSH layer. One run of cmd_archiver opens at most one connection per
 * slave (lazily, shared by the queue drain and the new segment); cmd_queue keeps them open.
 */
import { posix } from 'node:path';
import type { SlaveTarget } from '@pitrtools/core/config/ssh-targets';
import type { Logger } from '@pitrtools/core/log';
import { connectSsh, type SshSession, type SshTarget } from '@pitrtools/core/ssh/index';
import type { LinkProvider, SlaveLink } from '../archive/ports.js';
import { WalStreamPool } from './wal-stream-pool.js';

/** The SSH settings of a slave (resolved by the config layer), plus ssh2's debug lines under ssh_debug. */
export function sshTargetOf(t: SlaveTarget, sshDebug: boolean, log: Logger): SshTarget {
  return { ...t, ...(sshDebug ? { debug: (line: string) => log.debug(`ssh2: ${line}`) } : {}) };
}

/**
 * SFTP WRITE requests kept in flight per upload. OpenSSH's sshd opens a 2 MiB window per
 * channel: 8 requests of its 255 KiB maximum fill it, and what goes beyond only waits in
 * ssh2's buffers (a copy each), which is most of the peak memory of a standalone run.
 */
export const UPLOAD_IN_FLIGHT = 8;

/** remote_dir_fsync: off is an exception someone chose: say so in the log of every run (or daemon start) that uses it. */
export function warnNoDirFsync(t: SlaveTarget, log: Logger): void {
  if (!t.remoteDirFsync) {
    log.warning(
      `remote_dir_fsync is off for slave ${t.name}: ${t.r_archivedir} is not fsynced after a rename, ` +
        'so a crash of the slave may lose a segment this run reports as delivered',
    );
  }
}

/**
 * A SlaveLink that uploads into r_archivedir over `session`; `dirFsync` false only for
 * remote_dir_fsync: off. With a pool (compress not none) segments go through the slave's WAL
 * receiver, and over SFTP when it cannot start there.
 */
export function sessionLink(session: SshSession, rArchivedir: string, dirFsync = true, pool?: WalStreamPool): SlaveLink {
  return {
    upload: async (src, name) => {
      const status = await pool?.send(session, src, name);
      if (status !== undefined) return status;
      return (await session.uploadAtomic({ path: src }, rArchivedir, name, { inFlight: UPLOAD_IN_FLIGHT, dirFsync, privateDir: 'r_archivedir' })).status;
    },
    stat: async (name) => {
      const st = await session.statIfExists(posix.join(rArchivedir, name));
      return st ? { size: st.size } : undefined;
    },
    get ahead() {
      return pool?.ahead ?? 1;
    },
  };
}

/**
 * A provider that connects once on first use (failures included) and can be closed, or cut:
 * cut() drops the connection at once (or as soon as a pending connect completes) without
 * waiting for what is in flight, and close() then returns at once.
 */
export function oneShotLink(t: SlaveTarget, sshDebug: boolean, log: Logger): LinkProvider & { close(): Promise<void>; cut(): void } {
  let session: Promise<SshSession> | undefined;
  let pool: WalStreamPool | undefined;
  let cut = false;
  return {
    get: async () => {
      if (cut) throw new Error(`the connection to ${t.name} was cut (slave_deadline)`);
      if (session === undefined) warnNoDirFsync(t, log);
      session ??= connectSsh(sshTargetOf(t, sshDebug, log), log);
      pool ??= new WalStreamPool(t, log);
      return sessionLink(await session, t.r_archivedir, t.remoteDirFsync, pool);
    },
    close: async () => {
      if (cut) return;
      const s = await session?.catch(() => undefined);
      pool?.end();
      await s?.close();
    },
    cut: () => {
      cut = true;
      void session?.then(
        (s) => s.destroy(),
        () => undefined,
      );
    },
  };
}

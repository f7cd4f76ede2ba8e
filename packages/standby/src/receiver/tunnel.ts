/**
 * A Unix socket that leads to the master's PostgreSQL through the SSH connection, for
 * pg_receivewal (`-h <dir> -p <port>` connects to <dir>/.s.PGSQL.<port>). A Unix socket in a
 * fresh 0700 directory, not a TCP port: only our own user can use it (a local TCP port would let
 * any local user reach the master as if from the master's own host).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshSession } from '@pitrtools/core/ssh/index';

/** An open tunnel: `dir` and `port` are pg_receivewal's -h and -p. */
export interface PgTunnel {
  dir: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on `<new 0700 dir>/.s.PGSQL.<port>`; each connection is forwarded to host:port as seen from the master. */
export async function openPgTunnel(session: SshSession, host: string, port: number): Promise<PgTunnel> {
  const dir = await mkdtemp(join(tmpdir(), 'pitr-recv-'));
  const sockets = new Set<Socket>();
  const server: Server = createServer((local) => {
    sockets.add(local);
    local.on('close', () => sockets.delete(local));
    local.pause();
    session.forwardOut(host, port).then(
      (remote) => {
        local.pipe(remote).pipe(local);
        local.resume();
        const end = (): void => {
          local.destroy();
          remote.destroy();
        };
        local.on('close', end).on('error', end);
        remote.on('close', end).on('error', end);
      },
      () => local.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(join(dir, `.s.PGSQL.${port}`), () => resolve());
  });
  return {
    dir,
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

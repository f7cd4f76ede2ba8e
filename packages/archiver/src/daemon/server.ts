/**
 * cmd_queue's unix socket: one request line in, `working` out at once, then the verdict. A
 * client that sends garbage or names another ini gets `fallback` and does the job itself.
 */
import { promises as fsp } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { linkRefused } from '@pitrtools/core/fs/ownership';
import type { Logger } from '@pitrtools/core/log';
import { parseRequest, type ArchiveRequest, type Reply } from '../warm/protocol.js';

/** Options of the socket server. */
export interface ServeOptions {
  path: string;
  /** realpath of the ini this daemon serves. */
  config: string;
  /** How long a client may wait for the verdict (sent with `working`). */
  deadlineMs: number;
  log: Logger;
  handle(req: ArchiveRequest): Promise<Reply>;
}

/** A listening server and a way to stop it (waits for open requests up to `graceMs`). */
export interface SocketServer {
  close(graceMs: number): Promise<void>;
  /** Requests answered so far. */
  readonly served: number;
}

// A socket file nobody listens on is left by a killed daemon; one that answers belongs to a live one.
// A link there is nobody's socket: refused (exit 2), never connected to through it nor removed.
async function clearStaleSocket(path: string): Promise<void> {
  if ((await fsp.lstat(path).catch(() => undefined))?.isSymbolicLink()) throw linkRefused(path);
  const live = await new Promise<boolean>((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another cmd_queue already listens on ${path}`);
  await fsp.rm(path, { force: true });
}

/** Listens on `path` (mode 0600) and serves archive requests. */
export async function serveSocket(o: ServeOptions): Promise<SocketServer> {
  await clearStaleSocket(o.path);
  const open = new Set<Promise<void>>();
  let served = 0;
  const serveOne = async (conn: Socket): Promise<void> => {
    const line = await readLine(conn, 5000);
    const req = line === undefined ? undefined : parseRequest(line);
    const send = (r: Reply): void => {
      if (!conn.destroyed) conn.write(`${JSON.stringify(r)}\n`);
    };
    if (req === undefined) {
      send({ status: 'fallback', message: 'not a request' });
    } else if (req.config !== o.config) {
      send({ status: 'fallback', message: `this cmd_queue serves ${o.config}, not ${req.config}` });
    } else {
      send({ status: 'working', deadlineMs: o.deadlineMs });
      const reply = await o.handle(req).catch((err: unknown): Reply => ({ status: 'fallback', message: String(err) }));
      send(reply);
      served++;
    }
    conn.end();
  };
  const server: Server = createServer((conn) => {
    conn.on('error', () => undefined); // a client that went away
    const p = serveOne(conn)
      .catch((err: unknown) => o.log.debug(`socket request: ${String(err)}`))
      .finally(() => open.delete(p));
    open.add(p);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fsp.chmod(o.path, 0o600);
  server.on('error', (err) => o.log.error(`socket ${o.path}: ${err.message}`));
  return {
    get served() {
      return served;
    },
    close: async (graceMs) => {
      server.close();
      await Promise.race([Promise.allSettled([...open]), new Promise((r) => setTimeout(r, graceMs).unref())]);
      await fsp.rm(o.path, { force: true });
    },
  };
}

function readLine(conn: Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const t = setTimeout(() => finish(undefined), timeoutMs);
    const finish = (v: string | undefined): void => {
      clearTimeout(t);
      conn.off('data', onData);
      resolve(v);
    };
    const onData = (chunk: string): void => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl));
      else if (buf.length > 65536) finish(undefined);
    };
    conn.setEncoding('utf8');
    conn.on('data', onData);
    conn.once('end', () => finish(undefined));
  });
}

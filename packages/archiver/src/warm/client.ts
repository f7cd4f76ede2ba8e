/**
 * The warm path of cmd_archiver -F: ask the running cmd_queue over its socket. It loads only
 * node:net and the ini parser, so a segment the daemon has already shipped costs one process
 * start and one round trip. Any doubt (no socket, refused, slow, garbage, a `fallback` answer)
 * returns `fallback`, and the caller does the whole job itself.
 */
import { promises as fsp } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import type { Verdict } from '../archive/verdict.js';
import { peekArchiveDir } from './ini-peek.js';
import { parseReply, PROTOCOL_VERSION, type ArchiveRequest } from './protocol.js';
import { privateDirProblem, socketPlace } from './socket-path.js';

/**
 * The daemon's verdict, or why the caller must do the job itself; `absent` when nobody listens
 * on the socket (no cmd_queue, or one still starting).
 */
export type WarmAnswer = { verdict: Verdict } | { fallback: string; absent?: true };

/** How long to wait for each step. */
export interface WarmTimeouts {
  /** Connecting to the socket. */
  connectMs: number;
  /** The daemon's first line (`working`), which a live daemon sends at once. */
  firstReplyMs: number;
}

const DEFAULT_TIMEOUTS: WarmTimeouts = { connectMs: 50, firstReplyMs: 3000 };

/** The socket of the daemon serving this ini, if the ini names a plain l_archivedir and its directory is private. */
export async function daemonSocketFor(configFile: string): Promise<{ config: string; path: string } | { fallback: string }> {
  let config: string;
  let lArchivedir: string | undefined;
  try {
    config = await fsp.realpath(configFile);
    lArchivedir = peekArchiveDir(await fsp.readFile(config, 'utf8'), config, homedir());
  } catch (err) {
    return { fallback: `cannot read ${configFile}: ${(err as Error).message}` };
  }
  if (lArchivedir === undefined) {
    // Interpolation and the like: the full loader (some milliseconds more) knows.
    try {
      const { loadConfig } = await import('@pitrtools/core/config/load');
      lArchivedir = loadConfig(config, 'archiver').config.l_archivedir;
    } catch (err) {
      return { fallback: `cannot load ${configFile}: ${(err as Error).message}` };
    }
  }
  const place = socketPlace(lArchivedir);
  const problem = await privateDirProblem(place.dir);
  return problem ? { fallback: problem } : { config, path: place.path };
}

/** Asks cmd_queue to archive `file`; resolves with its verdict or a reason to fall back. Never throws. */
export async function askDaemon(configFile: string, file: string, t: WarmTimeouts = DEFAULT_TIMEOUTS): Promise<WarmAnswer> {
  const where = await daemonSocketFor(configFile);
  if ('fallback' in where) return where;
  const request: ArchiveRequest = { v: PROTOCOL_VERSION, op: 'archive', config: where.config, file };
  return new Promise<WarmAnswer>((resolve) => {
    const sock = createConnection(where.path);
    let buf = '';
    let settled = false;
    let timer: NodeJS.Timeout;
    const done = (a: WarmAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(a);
    };
    const wait = (ms: number, what: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => done({ fallback: `${what} within ${ms} ms` }), ms);
    };
    wait(t.connectMs, 'no connection to cmd_queue');
    sock.on('connect', () => {
      wait(t.firstReplyMs, 'no answer from cmd_queue');
      sock.write(`${JSON.stringify(request)}\n`);
    });
    sock.on('error', (err: NodeJS.ErrnoException) =>
      done({
        fallback: `cmd_queue socket: ${err.code ?? err.message}`,
        ...(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? { absent: true as const } : {}),
      }),
    );
    sock.on('close', () => done({ fallback: 'cmd_queue closed the connection without an answer' }));
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 65536) return done({ fallback: 'cmd_queue sent too much' });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const reply = parseReply(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (reply === undefined) return done({ fallback: 'cmd_queue sent something that is not an answer' });
        if (reply.status === 'working') wait(reply.deadlineMs, 'no verdict from cmd_queue');
        else if (reply.status === 'fallback') return done({ fallback: `cmd_queue: ${reply.message}` });
        else return done({ verdict: reply.status === 'ok' ? { kind: 'archived' } : reply.verdict });
      }
    });
  });
}

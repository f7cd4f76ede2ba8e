/**
 * `cmd_standby --receive-wal`: the supervised WAL receiver (walmgr's syncdaemon, Barman's
 * receive-wal). Keeps pg_receivewal streaming the master's WAL into archivedir/.receivewal through
 * the SSH connection (a private Unix socket tunnel) with a physical replication slot, restarts it
 * when it or the connection dies (backing off up to 30 s), adds each complete segment to archivedir
 * without replacing anything, and alerts once per outage (wal_receiver_failed, then
 * wal_receiver_ok). Runs until SIGTERM/SIGINT; -S and -A start start it, -A stop and -F999 stop it.
 */
import { spawn } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { raiseAlert } from '@pitrtools/core/alerts';
import { ExitCode, PitrError, errorMessage } from '@pitrtools/core/errors';
import { writeFileAtomic } from '@pitrtools/core/fs/atomic';
import type { Logger } from '@pitrtools/core/log';
import { runProcess } from '@pitrtools/core/proc';
import { connectSsh } from '@pitrtools/core/ssh/index';
import type { Ctx } from '../context.js';
import { localBinaries } from '../local/server.js';
import { masterSshTarget } from '../master-link.js';
import { passfileLine } from '../recovery/render.js';
import { moveComplete, receiveDir, receiverFiles, receiverSlot } from './files.js';
import { openPgTunnel } from './tunnel.js';

const MAX_BACKOFF_MS = 30_000;
/** A pg_receivewal that streamed this long ends an outage; its next failure starts a new one. */
const HEALTHY_MS = 10_000;

/** The pg_receivewal to run: the key, else the one beside the local server binaries. Throws RECEIVEWAL_MISSING. */
export async function receivewalBinary(ctx: Ctx): Promise<string> {
  const path = ctx.config.pg_receivewal ?? join((await localBinaries(ctx.config)).bindir, 'pg_receivewal');
  const ok = await fsp.access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
  if (!ok) {
    throw new PitrError('RECEIVEWAL_MISSING', `wal_receiver is on but ${path} is not an executable pg_receivewal`, {
      hint: `set pg_receivewal in ${ctx.config.file} to the pg_receivewal of the master's major version (or newer)`,
    });
  }
  return path;
}

/** Runs the receiver until `signal` aborts; returns the exit code. */
export async function runWalReceiver(ctx: Ctx, signal: AbortSignal): Promise<number> {
  const { config, log } = ctx;
  const recv = receiveDir(config);
  await fsp.mkdir(recv, { recursive: true, mode: 0o700 });
  const files = receiverFiles(config);
  const bin = await receivewalBinary(ctx);
  await writeFileAtomic(files.pid, `${process.pid}\n`);
  const slot = receiverSlot(config);
  const alerted = new Set<string>();
  let outage = false;
  const alert = (level: 'OK' | 'CRITICAL', event: string, message: string): Promise<unknown> =>
    raiseAlert(config, { level, event, message, role: 'standby' }, log);
  const move = async (): Promise<void> => {
    try {
      const r = await moveComplete(recv, config.archivedir, alerted);
      if (r.added.length > 0) log.debug(`wal receiver: added ${r.added.join(', ')} to ${config.archivedir}`);
      for (const n of r.conflicts) {
        alerted.add(n);
        await alert(
          'CRITICAL',
          'wal_receiver_conflict',
          `the WAL receiver received ${n}, but ${config.archivedir} already holds a different file of that name; ` +
            `neither was changed (the received one stays in ${recv}). Find out why (a timeline reused? two masters?)`,
        );
      }
    } catch (err) {
      log.warning(`wal receiver: cannot add received segments to ${config.archivedir}: ${errorMessage(err)}`);
    }
  };
  const mover = setInterval(() => {
    void move();
  }, 1000);
  let backoff = 1000;
  log.info(`WAL receiver started (pid ${process.pid}): ${bin} into ${recv}, slot ${slot}`);
  try {
    while (!signal.aborted) {
      const started = Date.now();
      const result = await oneRun(ctx, bin, slot, recv, signal).catch((err: unknown) => ({ streamed: false, why: errorMessage(err) }));
      await move();
      if (signal.aborted) break;
      const healthy = result.streamed && Date.now() - started >= HEALTHY_MS;
      if (healthy) backoff = 1000;
      if (!healthy && !outage) {
        outage = true;
        await alert(
          'CRITICAL',
          'wal_receiver_failed',
          `the WAL receiver cannot stream from the master: ${result.why}; retrying (segments still arrive through archive_command)`,
        );
      }
      log.warning(`wal receiver: ${result.why}; retrying in ${Math.round(backoff / 1000)} s`);
      await sleep(backoff, signal);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  } finally {
    clearInterval(mover);
    await move();
    await fsp.rm(files.pid, { force: true });
    log.info('WAL receiver stopped');
  }
  return ExitCode.OK;

  async function oneRun(c: Ctx, program: string, slotName: string, dir: string, stop: AbortSignal): Promise<{ streamed: boolean; why: string }> {
    const session = await connectSsh(masterSshTarget(c.config, c.log), c.log);
    try {
      const tunnel = await openPgTunnel(session, c.config.master_local_ip, c.config.port);
      try {
        const env: NodeJS.ProcessEnv = { ...process.env };
        if (c.config.repl_db_password !== undefined) {
          const passfile = join(dir, 'pgpass');
          await writeFileAtomic(passfile, passfileLine(tunnel.dir, tunnel.port, '*', c.config.repl_db_user, c.config.repl_db_password), 0o600);
          env.PGPASSFILE = passfile;
        }
        const common = ['-h', tunnel.dir, '-p', String(tunnel.port), '-U', c.config.repl_db_user, '-w'];
        const created = await runProcess([program, '--create-slot', '--if-not-exists', '-S', slotName, ...common], {
          env,
          timeoutMs: c.config.ssh_timeout * 1000 + 30_000,
        });
        if (created.code !== 0)
          return { streamed: false, why: `pg_receivewal --create-slot ${slotName} failed: ${lastLine(created.stderr || created.stdout)}` };
        return await receive(program, ['-D', dir, '-S', slotName, '--synchronous', '-n', '-v', ...common], env, c.log, stop, () => {
          if (outage) {
            outage = false;
            void alert('OK', 'wal_receiver_ok', `the WAL receiver streams from the master again (slot ${slotName})`);
          }
        });
      } finally {
        await tunnel.close();
      }
    } finally {
      await session.close().catch(() => undefined);
    }
  }
}

/** Runs pg_receivewal until it exits or `stop` aborts; says whether it streamed and why it ended. */
function receive(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log: Logger,
  stop: AbortSignal,
  onStreaming: () => void,
): Promise<{ streamed: boolean; why: string }> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let streamed = false;
    let last = '';
    let buf = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line === '') continue;
        log.debug(`pg_receivewal: ${line}`);
        if (/starting log streaming at/.test(line)) {
          streamed = true;
          onStreaming();
        } else if (!/finished segment|switched to timeline|not renaming/.test(line)) last = line;
      }
    });
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    stop.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      last = err.message;
    });
    child.on('close', (code, sig) => {
      stop.removeEventListener('abort', onAbort);
      resolve({ streamed, why: `pg_receivewal ended (${sig ?? `exit ${code}`})${last ? `: ${last.replace(/^pg_receivewal: /, '')}` : ''}` });
    });
  });
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .pop() ?? 'no output'
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

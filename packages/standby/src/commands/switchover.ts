/**
 * --switchover: a planned role swap without loss, run on a streaming standby. The master is asked
 * to switch WAL and this standby must replay up to there; then the master is stopped cleanly by
 * its own cmd_standby over SSH (master_cmd_standby -C master_standby_config -A stop), its pg_control
 * is read over SFTP, and this standby must have replayed past the master's shutdown checkpoint
 * (else the master is started again and nothing is promoted). Then -F999's promotion, and the old
 * master rejoins as a standby of this one (its own --rejoin over SSH; no rewind after a clean stop).
 * Hook: switchover_done.
 */
import { raiseAlert } from '@pitrtools/core/alerts';
import { PitrError, errorMessage } from '@pitrtools/core/errors';
import { parseControlPrefix } from '@pitrtools/core/pg/control-file';
import { requireHelpers } from '@pitrtools/core/pg/helpers';
import { connectSsh, type SshSession } from '@pitrtools/core/ssh/index';
import { splitWords } from '@pitrtools/core/words';
import type { Ctx } from '../context.js';
import { checkFailoverAction } from '../local/failover-hook.js';
import { connectLocal } from '../local/server.js';
import { masterSshTarget, openMasterLink } from '../master-link.js';
import { lsnValue } from '../recovery/check-report.js';
import { lsnText } from '../recovery/wal-file-check.js';
import { failover } from './failover.js';

/** Options of --switchover. */
export interface SwitchoverOptions {
  iniPath: string;
  /** How long this standby may take to catch up (before and after the stop); default 60 s. */
  catchUpMs?: number;
  /** Called after the catch-up check, before the master is stopped (tests pause replay here). */
  beforeStop?: () => Promise<void>;
}

/** What --switchover did (LSNs as PostgreSQL prints them). */
export interface SwitchoverResult {
  /** The master's shutdown checkpoint. */
  shutdownCheckpoint: string;
  /** Where this standby had replayed to when it was promoted. */
  replayed: string;
  timeline: number;
  /** master_public_ip of the old master, which now follows this server. */
  oldMaster: string;
}

/** Runs --switchover; throws SWITCHOVER_REFUSED (exit 1) with the figures when it cannot be done without loss. */
export async function switchover(ctx: Ctx, o: SwitchoverOptions): Promise<SwitchoverResult> {
  const { config, log } = ctx;
  const remoteIni = config.master_standby_config;
  if (remoteIni === undefined) {
    throw new PitrError(
      'USAGE',
      `--switchover needs master_standby_config in ${config.file}: the path, on the master host, of the cmd_standby ini that makes the master a standby of this host`,
      {
        hint: 'see docs/after-failover.md, "Planned switchover (--switchover)"',
      },
    );
  }
  const remote = (...args: string[]): string[] => [...splitWords(config.master_cmd_standby), '-C', remoteIni, ...args];
  await checkFailoverAction(config);
  const waitMs = o.catchUpMs ?? 60_000;
  await requireStreaming(ctx);
  const link = await openMasterLink(config, log, { applicationName: 'pitrtools switchover' });
  let ssh: SshSession | undefined = link.ssh;
  try {
    let dataDirectory: string;
    try {
      await requireHelpers(link.pg, link.where);
      const info = (await link.pg.query<{ in_recovery: boolean; data_directory: string }>('SELECT in_recovery, data_directory FROM cmd_server_info()'))[0]!;
      if (info.in_recovery) refuse(`the master (${link.where}) is itself in recovery`, 'point master_public_ip at the current master');
      dataDirectory = info.data_directory;
      await link.pg.query('SELECT pg_switch_wal()');
      const target = String(await link.pg.scalar('SELECT pg_current_wal_lsn()'));
      const got = await waitForReplay(ctx, lsnValue(target), false, waitMs);
      if (got.short)
        refuse(
          `this standby is not caught up: it replayed up to ${got.replayed}, the master is at ${target} after a WAL switch (waited ${waitMs / 1000} s)`,
          'wait for it to catch up (cmd_standby --status shows the lag), then try again',
        );
      log.info(`caught up: replayed ${got.replayed}, the master is at ${target}`);
    } finally {
      await link.pg.end();
    }
    await o.beforeStop?.();
    log.info(`stopping the master cleanly: ${remote('-A', 'stop').join(' ')} (over SSH)`);
    await runRemote(ssh, remote('-A', 'stop'), 'stop the master');
    const controlPath = `${dataDirectory}/global/pg_control`;
    const control = parseControlPrefix(await ssh.readFile(controlPath), `${controlPath} on the master`);
    const shutdownCheckpoint = lsnText(control.checkpoint);
    if (control.state !== 'shut down') {
      await restartMaster(ssh, remote, log);
      refuse(
        `the master's pg_control says "${control.state}", not "shut down", after the stop`,
        `see the master's server log; ${shutdownCheckpoint} is its last checkpoint`,
      );
    }
    // Replayed past the start of the shutdown checkpoint record = replayed that record (it is the last one).
    const got = await waitForReplay(ctx, control.checkpoint, true, waitMs);
    if (got.short) {
      await restartMaster(ssh, remote, log);
      refuse(
        `this standby replayed up to ${got.replayed}, not past the master's shutdown checkpoint at ${shutdownCheckpoint}: the master was started again, nothing was promoted`,
        'check that this standby streams from the master (cmd_standby --status), then try again',
      );
    }
    log.info(`this standby replayed ${got.replayed}, past the master's shutdown checkpoint at ${shutdownCheckpoint}`);
    let timeline: number;
    try {
      ({ timeline } = await failover(ctx, {
        iniPath: o.iniPath,
        masterStopped: `stopped cleanly by --switchover (shutdown checkpoint ${shutdownCheckpoint})`,
        announce: false,
      }));
    } catch (err) {
      // Not promoted after all: the cluster needs its master back. Only when this server is known to
      // be still in recovery; a promoted one plus a restarted old master would be two masters.
      if (await stillInRecovery(ctx)) await restartMaster(ssh, remote, log);
      throw err;
    }
    // The rejoin opens a new SSH connection: this one may have idled out during the promotion.
    await ssh.close();
    ssh = undefined;
    // Archiving of the new master: -F999's archiver_config step runs inside failover() where configured.
    log.info(`promoted to timeline ${timeline}; the old master rejoins: ${remote('--rejoin').join(' ')} (over SSH)`);
    // SSH only: the old master's PostgreSQL is down until its rejoin starts it.
    const again = await connectSsh(masterSshTarget(config, log), log).catch((err: unknown) => {
      throw rejoinFailed(errorMessage(err), config.master_public_ip, remote('--rejoin'));
    });
    try {
      const out = await runRemote(again, remote('--rejoin'), 'rejoin the old master').catch((err: unknown) => {
        throw rejoinFailed(errorMessage(err), config.master_public_ip, remote('--rejoin'));
      });
      for (const line of out.split('\n').filter((l) => l.trim() !== '')) log.info(`old master: ${line}`);
    } finally {
      await again.close();
    }
    const message = `switchover done: this server is the master (timeline ${timeline}); the old master ${config.master_public_ip} follows it`;
    await raiseAlert(config, { level: 'OK', event: 'switchover_done', message, role: 'standby' }, log);
    return { shutdownCheckpoint, replayed: got.replayed, timeline, oldMaster: config.master_public_ip };
  } finally {
    await ssh?.close();
  }
}

function refuse(why: string, hint: string): never {
  throw new PitrError('SWITCHOVER_REFUSED', `refusing to switch over: ${why}`, { hint });
}

function rejoinFailed(why: string, host: string, argv: string[]): PitrError {
  return new PitrError('REJOIN_FAILED', `this server is the new master, but the old master did not rejoin: ${why}`, {
    hint: `on ${host} run: ${argv.join(' ')}`,
  });
}

/** This server must be a standby whose WAL receiver streams (pg_stat_wal_receiver). */
async function requireStreaming(ctx: Ctx): Promise<void> {
  const s = await connectLocal(ctx.config);
  try {
    const row = (
      await s.query<{ r: boolean; status: string | null }>('SELECT pg_is_in_recovery() AS r, (SELECT status FROM pg_stat_wal_receiver) AS status')
    )[0]!;
    if (!row.r) refuse('the local server is not in recovery: it already is a master', 'run --switchover on the standby that should become the master');
    if (row.status !== 'streaming') {
      refuse(
        `this standby does not stream from the master (WAL receiver: ${row.status ?? 'none'})`,
        'set use_streaming_replication: on and start it with -S; --check shows the receiver',
      );
    }
  } finally {
    await s.end();
  }
}

/** True only when the local server answers and is in recovery. */
async function stillInRecovery(ctx: Ctx): Promise<boolean> {
  try {
    const s = await connectLocal(ctx.config);
    try {
      return (await s.scalar<boolean>('SELECT pg_is_in_recovery()')) === true;
    } finally {
      await s.end();
    }
  } catch {
    return false;
  }
}

/** Polls pg_last_wal_replay_lsn() until >= lsn (> with `past`) or `ms` pass. */
async function waitForReplay(ctx: Ctx, lsn: bigint, past: boolean, ms: number): Promise<{ short: boolean; replayed: string }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await connectLocal(ctx.config);
    let replayed: string;
    try {
      replayed = String(await s.scalar('SELECT pg_last_wal_replay_lsn()'));
    } finally {
      await s.end();
    }
    const v = replayed === 'null' ? 0n : lsnValue(replayed);
    if (past ? v > lsn : v >= lsn) return { short: false, replayed };
    if (Date.now() > deadline) return { short: true, replayed };
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs argv on the master host; returns its stdout; throws REMOTE_COMMAND_FAILED with its last stderr line. */
async function runRemote(ssh: SshSession, argv: string[], what: string): Promise<string> {
  const r = await ssh.exec(argv, { timeoutMs: 900_000 });
  if (r.code !== 0) {
    const last = (r.stderr.toString('utf8').trim() || r.stdout.toString('utf8').trim()).split('\n').pop() ?? '';
    throw new PitrError(
      'REMOTE_COMMAND_FAILED',
      `could not ${what}: ${argv.join(' ')} on the master host ended with ${r.signal ?? `exit ${r.code}`}${last ? `: ${last}` : ''}`,
      {
        hint: 'set master_cmd_standby and master_standby_config to cmd_standby and its ini on the master host',
      },
    );
  }
  return r.stdout.toString('utf8');
}

async function restartMaster(ssh: SshSession, remote: (...a: string[]) => string[], log: Ctx['log']): Promise<void> {
  try {
    await runRemote(ssh, remote('-A', 'start'), 'start the master again');
    log.warning('started the master again');
  } catch (err) {
    log.critical(`the master is stopped and could not be started again: ${errorMessage(err)}`);
  }
}

/** action_failover: checked before anything is promoted, run after, must exit 0. */
import { constants, promises as fsp } from 'node:fs';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import { runProcess } from '@pitrtools/core/proc';

/** Throws FAILOVER_ACTION_MISSING unless action_failover (when set) is an executable file. */
export async function checkFailoverAction(config: StandbyConfig): Promise<void> {
  const path = config.action_failover;
  if (path === undefined) return;
  const st = await fsp.stat(path).catch(() => undefined);
  const exec = st?.isFile()
    ? await fsp.access(path, constants.X_OK).then(
        () => true,
        () => false,
      )
    : false;
  if (!exec) {
    throw new PitrError('FAILOVER_ACTION_MISSING', `action_failover ${path} ${st ? 'is not an executable file' : 'does not exist'}; nothing was promoted`, {
      hint: `chmod u+x ${path} (or remove action_failover from the ini file)`,
    });
  }
}

/** Runs action_failover (no shell, hook_timeout applies); returns an error line, or undefined when it exited 0. */
export async function runFailoverAction(config: StandbyConfig, log: Logger): Promise<string | undefined> {
  const path = config.action_failover;
  if (path === undefined) return undefined;
  log.info(`running action_failover ${path}`);
  const r = await runProcess([path], {
    timeoutMs: config.hook_timeout * 1000,
    env: { ...process.env, PITR_EVENT: 'failover', PITR_ROLE: 'standby', PITR_PGDATA: config.pgdata },
  });
  if (r.spawnError) return `action_failover ${path} could not start: ${r.spawnError.message}`;
  if (r.timedOut) return `action_failover ${path} did not finish within ${config.hook_timeout} s`;
  if (r.code !== 0) return `action_failover ${path} failed (${r.signal ?? `exit ${r.code}`})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`;
  return undefined;
}

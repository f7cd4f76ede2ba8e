/**
 * The command line of cmd_standby: yargs only maps flags to one command's options; the commands
 * live in commands/. Loaded for everything except --restore and --cleanup (see main.ts).
 */
import yargs from 'yargs';
import { splitGluedShortOptions } from '@pitrtools/cli/argv';
import { runMain } from '@pitrtools/cli/exit';
import { enableColor, wantsColor } from '@pitrtools/cli/output';
import { parseBytes, parseSeconds } from '@pitrtools/core/config/index';
import { ExitCode, PitrError, errorMessage } from '@pitrtools/core/errors';
import { assertNotRoot } from '@pitrtools/core/root-guard';
import { ACTIONS, runAction, type Action } from './commands/action.js';
import { withInterruptReport } from './basebackup-interrupt.js';
import { basebackup } from './commands/basebackup.js';
import { backupSet, catalogueDir } from './commands/backup-set.js';
import { listBackups, renderBackups } from './commands/list-backups.js';
import { restoreBackup } from './commands/restore-backup.js';
import { verifyBackups } from './commands/verify-backup.js';
import { checkStandby, type CheckOptions } from './commands/check.js';
import { commandContext } from './command-context.js';
import { failover } from './commands/failover.js';
import { follow, type NewMaster } from './commands/follow.js';
import { initStandby } from './commands/init.js';
import { installMasterHelpers } from './commands/install-helpers.js';
import { patroniReplica } from './commands/patroni-replica.js';
import { pingMaster } from './commands/ping.js';
import { pointInTimeRecovery } from './commands/pitr.js';
import { startStandby } from './commands/standby.js';
import { rejoin } from './commands/rejoin.js';
import { switchover } from './commands/switchover.js';
import type { Ctx } from './context.js';
import { HELP } from './help.js';
import { checkJson, renderNagios, renderStatus, unknownReport } from './recovery/check-report.js';
import { masterSshTarget } from './master-link.js';
import { parsePatroniArgs } from './patroni-args.js';
import { parseTargetTime } from './recovery/target-time.js';

const PROGRAM = 'cmd_standby';

function usage(message: string): PitrError {
  return new PitrError('USAGE', message, { hint: 'cmd_standby --help lists every option' });
}

/** Parsed flags. */
interface Flags {
  config?: string; dbinit?: boolean; basebackup?: boolean; checksum?: boolean; standby?: boolean; failover?: string;
  recovertotime?: string; ping?: boolean; action?: string; check?: boolean; status?: boolean; json?: boolean; installHelpers?: boolean;
  force?: boolean; verbose?: boolean; help?: boolean; version?: boolean; allowPrimary?: boolean; restore?: string[]; cleanup?: string;
  warnBytes?: string; criticalBytes?: string; warnSeconds?: string; criticalSeconds?: string; receiveWal?: boolean;
  follow?: boolean; master?: string; masterPort?: string; rejoin?: boolean; switchover?: boolean;
  backup?: boolean; listBackups?: boolean; verifyBackup?: string; restoreBackup?: string; into?: string;
}

function parseFlags(argv: string[]): Flags {
  return yargs(splitGluedShortOptions(argv, 'CFRA'))
    .scriptName(PROGRAM).help(false).version(false).strict().parserConfiguration({ 'camel-case-expansion': true })
    .option('config', { alias: 'C', type: 'string' })
    .option('dbinit', { alias: 'I', type: 'boolean' })
    .option('basebackup', { alias: 'B', type: 'boolean' })
    .option('checksum', { type: 'boolean' })
    .option('backup', { type: 'boolean' })
    .option('list-backups', { type: 'boolean' })
    .option('verify-backup', { type: 'string' })
    .option('restore-backup', { type: 'string' })
    .option('into', { type: 'string' })
    .option('standby', { alias: 'S', type: 'boolean' })
    .option('failover', { alias: 'F', type: 'string' })
    .option('recovertotime', { alias: 'R', type: 'string' })
    .option('ping', { alias: 'P', type: 'boolean' })
    .option('action', { alias: 'A', type: 'string' })
    .option('check', { type: 'boolean' })
    .option('status', { type: 'boolean' })
    .option('json', { type: 'boolean' })
    .option('allow-primary', { type: 'boolean' })
    .option('warn-bytes', { type: 'string' }).option('critical-bytes', { type: 'string' })
    .option('warn-seconds', { type: 'string' }).option('critical-seconds', { type: 'string' })
    .option('install-helpers', { type: 'boolean' })
    .option('receive-wal', { type: 'boolean' })
    .option('rejoin', { type: 'boolean' })
    .option('switchover', { type: 'boolean' })
    .option('force', { type: 'boolean' })
    .option('follow', { type: 'boolean' })
    .option('master', { type: 'string' })
    .option('master-port', { type: 'string' })
    .option('restore', { type: 'string', array: true, nargs: 2 })
    .option('cleanup', { type: 'string' })
    .option('verbose', { alias: 'v', type: 'boolean' })
    .option('help', { alias: 'h', type: 'boolean' })
    .option('version', { type: 'boolean' })
    .fail((msg, err) => { throw usage(msg ?? errorMessage(err)); })
    .parseSync() as unknown as Flags;
}

/** Runs cmd_standby with `argv` (without node and script) and exits. */
export async function runCli(argv: string[]): Promise<never> {
  if (argv.includes('--patroni-replica')) return runPatroniReplica(argv);
  let f: Flags = {};
  return runMain(PROGRAM, async () => {
    f = parseFlags(argv);
    if (f.help) {
      process.stdout.write(HELP);
      return ExitCode.OK;
    }
    if (f.version) {
      process.stdout.write(`${(await import('./version.js')).standbyVersion()}\n`);
      return ExitCode.OK;
    }
    assertNotRoot(PROGRAM);
    if (wantsColor(process.stderr)) await enableColor();
    if (f.check && f.status) throw usage('choose one of --check, --status');
    if (f.check) return runCheck(f);
    if (f.status) return runStatus(f);
    if (f.listBackups) {
      const other = validate(f);
      if (other !== undefined) throw usage(`choose one action, not --list-backups and ${other}`);
      return runListBackups(f);
    }
    if (f.json) throw usage('--json goes with --check, --status or --list-backups');
    const chosen = validate(f);
    return dispatch(f, chosen, context(f));
  }, { debug: () => f.verbose === true });
}

/** --patroni-replica: Patroni's create_replica_method call, whose --key=value arguments yargs' strict mode would refuse. */
async function runPatroniReplica(argv: string[]): Promise<never> {
  let verbose = false;
  return runMain(PROGRAM, async () => {
    const inv = parsePatroniArgs(argv);
    verbose = inv.verbose;
    assertNotRoot(PROGRAM);
    const ctx = commandContext(inv.config, inv.verbose);
    for (const a of inv.ignored) ctx.log.debug(`--patroni-replica: ignoring ${a.replace(/=.*/s, '=...')} (not one of ours)`);
    await patroniReplica(ctx, inv.options);
    return ExitCode.OK;
  }, { debug: () => verbose });
}

function context(f: Flags): Ctx {
  if (f.config === undefined || f.config === '') throw usage('-C <cmd_standby.ini> is required');
  return commandContext(f.config, f.verbose === true, f.dbinit === true);
}

/** Checks the flags before anything is loaded; returns the chosen action (or undefined). */
function validate(f: Flags): string | undefined {
  const chosen = [f.dbinit && '-I', f.basebackup && '-B', f.standby && '-S', f.failover !== undefined && '-F', f.ping && '-P',
    f.action !== undefined && '-A', f.installHelpers && '--install-helpers', f.receiveWal && '--receive-wal', f.follow && '--follow', f.rejoin && '--rejoin', f.switchover && '--switchover', f.restore && '--restore', f.cleanup !== undefined && '--cleanup',
    f.backup && '--backup', f.verifyBackup !== undefined && '--verify-backup', f.restoreBackup !== undefined && '--restore-backup']
    .filter((x): x is string => typeof x === 'string');
  if (chosen.length > 1) throw usage(`choose one action, not ${chosen.join(' and ')}`);
  if (f.recovertotime !== undefined && f.failover === undefined) throw usage('-R needs -F999 (point-in-time recovery is a kind of failover)');
  if (f.checksum && !f.basebackup) throw usage('--checksum goes with -B');
  if (f.into !== undefined && f.restoreBackup === undefined) throw usage('--into goes with --restore-backup');
  if (f.restoreBackup === '') throw usage('--restore-backup needs the label of a set (cmd_standby -C <ini> --list-backups shows them)');
  if (f.force && f.failover === undefined && !f.rejoin) throw usage('--force goes with -F999 or --rejoin');
  if ((f.master !== undefined || f.masterPort !== undefined) && !f.follow) throw usage('--master and --master-port go with --follow');
  if (f.failover !== undefined && f.failover !== '999') throw usage(`-F takes the value 999 (as in -F999), not '${f.failover}'`);
  if (f.action !== undefined && !(ACTIONS as readonly string[]).includes(f.action)) throw usage(`-A takes ${ACTIONS.join(', ')}, not '${f.action}'`);
  if (chosen[0] === '--restore' || chosen[0] === '--cleanup') {
    throw usage(`${chosen[0]} must be used alone, as PostgreSQL runs it: cmd_standby -C <ini> ${chosen[0]} ...`);
  }
  return chosen[0];
}

async function dispatch(f: Flags, chosen: string | undefined, ctx: Ctx): Promise<number> {
  const iniPath = f.config!;
  switch (chosen) {
    case '-I': await initStandby(ctx); break;
    case '-B': await withInterruptReport(PROGRAM, ctx.config.pgdata, ctx.config.file, () => basebackup(ctx, { checksum: f.checksum === true })); break;
    case '-S': await startStandby(ctx, { iniPath }); break;
    case '-F': {
      if (f.recovertotime === undefined) { await failover(ctx, { iniPath, force: f.force === true }); break; }
      const target = parseTargetTime(f.recovertotime);
      if ('error' in target) throw usage(`-R: ${target.error}`);
      await pointInTimeRecovery(ctx, { iniPath, target });
      break;
    }
    case '-P': await pingMaster(ctx); break;
    case '-A': {
      await runAction(ctx, f.action as Action);
      break;
    }
    case '--install-helpers': await installMasterHelpers(ctx); break;
    case '--follow': await follow(ctx, { iniPath, master: newMasterFlags(f) }); break;
    case '--rejoin': await rejoin(ctx, { iniPath, force: f.force === true }); break;
    case '--switchover': await switchover(ctx, { iniPath }); break;
    case '--backup': await backupSet(ctx); break;
    case '--verify-backup': {
      const r = await verifyBackups(ctx, f.verifyBackup === '' ? undefined : f.verifyBackup);
      if (r.length === 0) ctx.out(`No backup sets in ${catalogueDir(ctx)} to verify`);
      return r.every((x) => x.ok) ? ExitCode.OK : ExitCode.FAILED;
    }
    case '--restore-backup': await restoreBackup(ctx, { label: f.restoreBackup!, into: f.into }); break;
    case '--receive-wal': {
      const { runWalReceiver } = await import('./receiver/supervisor.js');
      const stop = new AbortController();
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
      return runWalReceiver(ctx, stop.signal);
    }
    default: ctx.out(`Config OK (${iniPath}); choose an action: cmd_standby --help`); break;
  }
  return ExitCode.OK;
}

function portValue(v: string, flag: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw usage(`${flag}: '${v}' is not a port (1-65535)`);
  return Number(v);
}

/** --master HOST[:SSH_PORT] (an IPv6 address in brackets) and --master-port PORT. */
function newMasterFlags(f: Flags): NewMaster | undefined {
  if (f.master === undefined && f.masterPort === undefined) return undefined;
  if (f.master === undefined) throw usage('--master-port needs --master HOST[:SSH_PORT] (or edit master_public_ip and port in the ini file and run --follow alone)');
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+))(?::(\d+))?$/.exec(f.master) ?? /^([0-9A-Fa-f:]+)$/.exec(f.master);
  if (!m) throw usage(`--master: '${f.master}' is not HOST or HOST:SSH_PORT`);
  const host = (m[1] ?? m[2])!;
  return { host, ...(m[3] !== undefined ? { sshPort: portValue(m[3], '--master') } : {}), ...(f.masterPort !== undefined ? { port: portValue(f.masterPort, '--master-port') } : {}) };
}

function sizeFlag(v: string | undefined, name: string): number | null | undefined {
  if (v === undefined) return undefined;
  const p = parseBytes(v);
  if ('error' in p) throw usage(`--${name}: ${p.error}`);
  return p.value;
}

function secondsFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const p = parseSeconds(v);
  if ('error' in p) throw usage(`--${name}: ${p.error}`);
  return p.value;
}

/** --list-backups: the catalogue for people, or --json (an array, oldest first). */
async function runListBackups(f: Flags): Promise<number> {
  const ctx = context(f);
  const rows = await listBackups(ctx);
  process.stdout.write(f.json ? `${JSON.stringify(rows)}\n` : `${renderBackups(rows, catalogueDir(ctx))}\n`);
  return ExitCode.OK;
}

/** --status: the check's facts for people (or --json), exit 0 unless the check could not run at all. */
async function runStatus(f: Flags): Promise<number> {
  const ctx = context(f);
  const report = await checkStandby(ctx, {});
  const where = masterWhere(ctx.config);
  process.stdout.write(f.json ? `${JSON.stringify(checkJson(report, { master: where }))}\n` : `${renderStatus(report, where)}\n`);
  return ExitCode.OK;
}

/** Where the ini says the master is, as --status prints it. */
function masterWhere(config: Ctx['config']): string {
  const t = masterSshTarget(config);
  return `PostgreSQL ${config.master_local_ip}:${config.port} via ssh ${t.user}@${t.host}:${t.port}`;
}

async function runCheck(f: Flags): Promise<number> {
  let report;
  let master: string | undefined;
  try {
    const ctx = context(f);
    master = masterWhere(ctx.config);
    const o: CheckOptions = { allowPrimary: f.allowPrimary === true };
    const wb = sizeFlag(f.warnBytes, 'warn-bytes');
    const cb = sizeFlag(f.criticalBytes, 'critical-bytes');
    const ws = secondsFlag(f.warnSeconds, 'warn-seconds');
    const cs = secondsFlag(f.criticalSeconds, 'critical-seconds');
    if (wb !== undefined) o.warnBytes = wb;
    if (cb !== undefined) o.critBytes = cb;
    if (ws !== undefined) o.warnSeconds = ws;
    if (cs !== undefined) o.critSeconds = cs;
    report = await checkStandby(ctx, o);
  } catch (err) {
    report = unknownReport(errorMessage(err));
  }
  process.stdout.write(f.json ? `${JSON.stringify(checkJson(report, master !== undefined ? { master } : {}))}\n` : `${renderNagios(report)}\n`);
  return report.code;
}

/**
 * cmd_archiver's full command line (everything but the plain `-C ini -F %p`, which bin/ handles
 * without yargs): maps flags to one command module each and prints its result.
 */
import yargs from 'yargs';
import { ExitCode, PitrError, errorMessage } from '@pitrtools/core/errors';
import { parseSeconds } from '@pitrtools/core/config/values';
import { resolveSlaves } from '@pitrtools/core/config/ssh-targets';
import { runMain } from '@pitrtools/cli/exit';
import { splitGluedShortOptions, usageMessage } from '@pitrtools/cli/argv';
import { enableColor, say, stderrSink, wantsColor } from '@pitrtools/cli/output';
import { printReport } from './report.js';
import { loadForCommand } from './setup.js';
import { archiverVersion } from './version.js';

const EPILOG = `Exit codes of -F (non-zero: "not safely archived; PostgreSQL keeps the file and retries"):
  0  archived: fsynced on every slave, or in the queue of each slave that could not take it
  1  failed: not safely archived (other actions: failed)
  2  usage or ini error, -F is not a WAL file in pg_wal, a directory we write in is not ours
     alone (or a link at one of our files), or run as root; nothing was done
  3  state: offline (notify_warning once per offline period)
  4  a slave already holds a different file of that name; nothing overwritten (notify_critical)
--check exits like a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

In postgresql.conf (cmd_archiver -I prints the exact line):
  archive_mode = on
  archive_command = '/path/to/cmd_archiver -C /path/to/cmd_archiver.ini -F %p'
cmd_queue (the queue runner and warm shipper) is started by cmd_archiver when needed.
compress: lz4 | zstd[:LEVEL] in the ini (or the original's rsync_flags: -z) sends WAL compressed
to cmd_standby --receive-wal-stream on the slave (slave_cmd_standby); without it, or when that
cannot start (a WARNING says so), over SFTP as it is.

Docs: docs/cmd_archiver.md, docs/queue.md; every ini key: etc/cmd_archiver.ini.sample
(paths in the clone, or under $(npm root -g)/pitrtools/ once installed)`;

function parser(argv: string[]) {
  return yargs(argv)
    .scriptName('cmd_archiver')
    .usage(
      'Usage: cmd_archiver -C cmd_archiver.ini [-F %p | -I | --setup [--restart] | --stop [--remove] | --check | --status | --reset-slave NAME | --install-helpers]\n\n' +
        "PostgreSQL's archive_command: ships each WAL file to every standby (slave) over SSH, durably and never " +
        'overwriting, and queues it for a slave that cannot be reached. With no action: checks the ini ("Config OK") ' +
        'and reports whether each slave can be reached.',
    )
    .option('config', { alias: 'C', type: 'string', demandOption: 'give the ini file with -C', describe: 'cmd_archiver.ini', requiresArg: true })
    .option('file', {
      alias: 'F',
      type: 'string',
      describe: 'archive this WAL file: %p in archive_command (relative to pgdata, or absolute)',
      requiresArg: true,
    })
    .option('init', {
      alias: 'I',
      type: 'boolean',
      describe: 'create l_archivedir and one queue per slave, check the archiving settings, print archive_command',
    })
    .option('setup', {
      type: 'boolean',
      describe:
        'set archive_mode = on, archive_command (as -I prints it) and wal_level = replica on the local master by ALTER SYSTEM and reload; says what waits for a restart',
    })
    .option('restart', { type: 'boolean', describe: 'with --setup: restart PostgreSQL (pg_ctl restart -m fast) when a setting waits for it' })
    .option('stop', { type: 'boolean', describe: 'stop archiving: state: offline in the ini (PostgreSQL keeps the WAL and retries; the slaves get nothing)' })
    .option('remove', { type: 'boolean', describe: "with --stop: also ALTER SYSTEM SET archive_command = '', then reload" })
    .option('dry-run', { alias: 'n', type: 'boolean', describe: 'with -F: say what would go where; upload, queue and alert nothing' })
    .option('check', {
      type: 'boolean',
      describe: 'Nagios plugin: queue sizes and ages, offline, dropped slaves, whether the local server archives with this ini (read-only, no SSH)',
    })
    .option('status', {
      type: 'boolean',
      describe:
        'the whole cluster from here: each slave reachable or not, its newest archived segment, its queue, its own --check (slave_config); streaming and slots (read-only)',
    })
    .option('json', { type: 'boolean', describe: 'with --check or --status: print the same facts as JSON' })
    .option('nagios', { type: 'boolean', describe: 'with --status: one Nagios plugin line for the whole cluster, exit 0-3' })
    .option('warn-age', {
      alias: 'w',
      type: 'string',
      describe: 'with --check: WARNING when the oldest queued segment is older (default: check_queue_warn_age)',
      requiresArg: true,
    })
    .option('crit-age', {
      alias: 'c',
      type: 'string',
      describe: 'with --check: CRITICAL when the oldest queued segment is older (default: check_queue_critical_age)',
      requiresArg: true,
    })
    .option('reset-slave', {
      type: 'string',
      describe: 'reattach a slave whose queue was dropped (queue_max_bytes), before its new base backup',
      requiresArg: true,
    })
    .option('install-helpers', { type: 'boolean', describe: 'install the SQL helper functions cmd_standby needs into the local PostgreSQL' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log each step (DEBUG lines on stderr)' })
    .help('help')
    .alias('help', 'h')
    .version('version', 'show the version', archiverVersion())
    .alias('version', 'V')
    .epilog(EPILOG)
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw new PitrError('USAGE', msg ? usageMessage(msg, argv, 'cmd_archiver.ini') : errorMessage(err));
    });
}

type Args = Awaited<ReturnType<ReturnType<typeof parser>['parse']>>;

function seconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const r = parseSeconds(text);
  if ('error' in r) throw new PitrError('USAGE', `--${flag}: ${r.error}`);
  return r.value;
}

async function run(a: Args): Promise<number> {
  const actions = ['file', 'init', 'setup', 'stop', 'check', 'status', 'reset-slave', 'install-helpers'].filter((k) => a[k] !== undefined && a[k] !== false);
  // The words cmd_standby uses for two actions (its cli/choose-action.ts), with the short flag where there is one.
  const named = (k: string): string => ({ file: '-F', init: '-I' })[k] ?? `--${k}`;
  if (actions.length > 1) throw new PitrError('USAGE', `choose one action, not ${actions.map(named).join(' and ')}`);
  if (a['dry-run'] && a.file === undefined) throw new PitrError('USAGE', '-n/--dry-run goes with -F');
  for (const k of ['warn-age', 'crit-age']) {
    if (a[k] !== undefined && a[k] !== false && !a.check) throw new PitrError('USAGE', `--${k} goes with --check`);
  }
  if (a.restart && !a.setup) throw new PitrError('USAGE', '--restart goes with --setup');
  if (a.remove && !a.stop) throw new PitrError('USAGE', '--remove goes with --stop');
  if (a.json && !a.check && !a.status) throw new PitrError('USAGE', '--json goes with --check or --status');
  if (a.nagios && !a.status) throw new PitrError('USAGE', '--nagios goes with --status');
  if (a.nagios && a.json) throw new PitrError('USAGE', 'choose one of --json, --nagios');
  const verbose = a.verbose === true;
  if (a.check) {
    const { runCheck } = await import('./check-cli.js');
    return runCheck(a.config, { json: a.json === true, warnAge: seconds('warn-age', a['warn-age']), critAge: seconds('crit-age', a['crit-age']) });
  }
  if (a.status) {
    const { runStatus } = await import('./status-cli.js');
    return runStatus(a.config, { json: a.json === true, nagios: a.nagios === true, verbose });
  }
  if (a.file !== undefined && !a['dry-run']) {
    const { runArchive } = await import('./archive-run.js');
    return runArchive({ config: a.config, file: a.file, verbose });
  }
  const { config, log } = loadForCommand('cmd_archiver', a.config, verbose);
  if (a.file !== undefined) {
    const { dryRunCommand } = await import('../commands/dry-run.js');
    for (const line of await dryRunCommand({ config, file: a.file, log })) say(line);
  } else if (a.init) {
    const { initCommand } = await import('../commands/init.js');
    const [{ frontEndBin }, { installedCommand }] = await Promise.all([import('../daemon/spawn.js'), import('@pitrtools/core/fs/installed-command')]);
    const bin = installedCommand('cmd_archiver', frontEndBin());
    const r = await initCommand({ config, cmdArchiver: bin.path });
    printReport(r.lines);
    if (bin.sourceTree !== undefined) {
      // On stderr: a note for whoever runs -I from a clone, not part of the report.
      const w = `the archive_command below runs ${bin.path}, inside the source checkout ${bin.sourceTree}: removing or moving it stops archiving`;
      const h = 'install a copy instead: npm run tarball in the checkout, then npm install -g ./pitrtools-<version>.tgz (README, Quick start)';
      stderrSink('WARNING', `cmd_archiver: WARNING: ${w}`, w);
      stderrSink('INFO', `cmd_archiver: HINT: ${h}`, h);
    }
    say('Put this line into postgresql.conf (then reload PostgreSQL):');
    say(`  ${r.archiveCommandLine}`);
  } else if (a.setup) {
    const { setupArchiving } = await import('../commands/setup-archiving.js');
    const { frontEndBin } = await import('../daemon/spawn.js');
    printReport((await setupArchiving({ config, cmdArchiver: frontEndBin(), restart: a.restart === true })).lines);
  } else if (a.stop) {
    const { stopArchiving } = await import('../commands/setup-archiving.js');
    printReport((await stopArchiving({ config, remove: a.remove === true })).lines);
  } else if (a['reset-slave'] !== undefined) {
    const { resetSlaveCommand } = await import('../commands/reset-slave.js');
    say(await resetSlaveCommand({ config, log, slave: a['reset-slave'] }));
  } else if (a['install-helpers']) {
    const { installHelpersCommand } = await import('../commands/install-helpers.js');
    say(await installHelpersCommand({ config }));
  } else {
    const { validateCommand } = await import('../commands/validate.js');
    // What loading alone does not check (a key file named in ssh_identity that is not there)
    // throws here, before "Config OK" is said.
    resolveSlaves(config);
    say(`Config OK: ${config.file}`);
    printReport(await validateCommand({ config, log }));
  }
  return ExitCode.OK;
}

/** Parses argv and runs the chosen command; never returns. */
export async function main(raw: string[]): Promise<never> {
  if (wantsColor(process.stdout)) await enableColor();
  const argv = splitGluedShortOptions(raw, 'CFwc');
  if (argv.includes('--check') || (argv.includes('--status') && argv.includes('--nagios'))) {
    const { runCheckMain } = await import('./check-cli.js');
    return runCheckMain(
      () =>
        parser(argv)
          .parseAsync()
          .then((a) => (a.help || a.version ? ExitCode.OK : run(a))),
      { json: argv.includes('--json') },
    );
  }
  return runMain('cmd_archiver', async () => {
    const a = await parser(argv).parseAsync();
    if (a.help || a.version) return ExitCode.OK;
    return run(a);
  });
}

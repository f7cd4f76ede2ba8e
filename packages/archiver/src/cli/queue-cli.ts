/**
 * cmd_queue's command line: run in the foreground (for systemd or a terminal), start in the
 * background (--daemon, the way cmd_archiver starts it), or deliver the queues once (--once).
 */
import { resolve } from 'node:path';
import yargs from 'yargs';
import { ExitCode, PitrError, errorMessage } from '@pitrtools/core/errors';
import { runMain } from '@pitrtools/cli/exit';
import { splitGluedShortOptions, usageMessage } from '@pitrtools/cli/argv';
import { say } from '@pitrtools/cli/output';
import { runForeground } from './queue-run.js';
import { fileSink, loadForCommand } from './setup.js';
import { archiverVersion } from './version.js';

const EPILOG = `Without --daemon or --once it runs in the foreground until PostgreSQL (postmaster.pid in
pgdata) stops, the ini changes, or SIGTERM/SIGINT; one instance per l_archivedir (.cmd_queue.pid).
With warm_path on it keeps an SSH connection per slave open, ships segments marked .ready ahead
of time and leaves proof markers that cmd_archiver answers from. cmd_archiver starts it when needed.

Exit codes: 0 done (or already running), 1 failed (--once: something is still queued),
2 usage or ini error, a directory it writes in is not ours alone (or a link at one of its
files), or run as root.
Docs: docs/cmd_archiver.md (cmd_queue), docs/queue.md
(paths in the clone, or under $(npm root -g)/pitrtools/ once installed)`;

/** Parses argv and runs cmd_queue; never returns. */
export async function main(raw: string[]): Promise<never> {
  const argv = splitGluedShortOptions(raw, 'C');
  return runMain('cmd_queue', async () => {
    const a = await yargs(argv)
      .scriptName('cmd_queue')
      .usage(
        'Usage: cmd_queue -C cmd_archiver.ini [--daemon | --once] [--log-file FILE] [-v]\n\n' +
          "Delivers cmd_archiver's queues to the slaves that are back, every queue_wait seconds, and is cmd_archiver's warm shipper.",
      )
      .wrap(Math.min(110, process.stdout.columns || 100))
      .option('config', { alias: 'C', type: 'string', demandOption: 'give the ini file with -C', describe: 'cmd_archiver.ini', requiresArg: true })
      .option('daemon', { alias: 'd', type: 'boolean', describe: 'start in the background (own session), logging to l_archivedir/cmd_queue.log' })
      .option('once', { type: 'boolean', describe: 'deliver every queue once, then exit' })
      .option('log-file', { type: 'string', describe: 'log there instead of on stderr', requiresArg: true })
      .option('verbose', { alias: 'v', type: 'boolean', describe: 'DEBUG lines' })
      .help('help')
      .alias('help', 'h')
      .version('version', 'show the version', archiverVersion())
      .alias('version', 'V')
      .epilog(EPILOG)
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw new PitrError('USAGE', msg ? usageMessage(msg, argv, 'cmd_archiver.ini') : errorMessage(err));
      })
      .parseAsync();
    if (a.help || a.version) return ExitCode.OK;
    if (a.daemon && a.once) throw new PitrError('USAGE', 'choose --daemon or --once');
    if (!a.daemon && !a.once)
      return runForeground({ config: a.config, verbose: a.verbose === true, ...(a['log-file'] !== undefined ? { logFile: a['log-file'] } : {}) });
    const file = a['log-file'] !== undefined ? fileSink(a['log-file']) : undefined;
    const { config, log } = loadForCommand('cmd_queue', a.config, a.verbose === true, file?.sink);
    if (a.daemon) {
      const { checkQueueDirs, requireQueueRoot } = await import('../adapters/fs-queue-store.js');
      const { resolveSlaves } = await import('@pitrtools/core/config/ssh-targets');
      await requireQueueRoot(config.l_archivedir, config.file);
      await checkQueueDirs(
        config.l_archivedir,
        resolveSlaves(config).map((s) => s.name),
      );
      const { startDaemon, QUEUE_LOG } = await import('../daemon/spawn.js');
      const { runningDaemon } = await import('../daemon/pidfile.js');
      const running = await runningDaemon(config.l_archivedir);
      if (running !== undefined) say(`cmd_queue is already running (pid ${running})`);
      else {
        const pid = await startDaemon(resolve(config.file), config.l_archivedir);
        if (pid === undefined)
          throw new PitrError('QUEUE_MISSING', `cannot start cmd_queue: is l_archivedir ${config.l_archivedir} there?`, {
            hint: `cmd_archiver -C ${config.file} -I`,
          });
        say(`cmd_queue started in the background (pid ${pid}), logging to ${config.l_archivedir}/${QUEUE_LOG}`);
      }
      return ExitCode.OK;
    }
    // --once
    const { queueOnce } = await import('../commands/queue-once.js');
    const r = await queueOnce({ config, log });
    for (const s of r.slaves) {
      say(`${s.name}: ${s.detached ? 'detached, skipped' : `${s.delivered} delivered, ${s.remaining} still queued${s.stopped ? ` (${s.stopped})` : ''}`}`);
    }
    return r.code;
  });
}

/**
 * Entry point of cmd_standby. PostgreSQL runs `--restore %f %p` for every segment and every
 * history probe, so that path is recognised by hand and loads only the config layer and node:fs;
 * cmd_archiver's WAL receiver, started over SSH on every cold start of a burst, loads not even
 * the config layer (15-20 ms of the ~160 ms from its spawn to its hello, measured);
 * a plain -B is recognised too and loads only what it needs; everything else goes through the
 * full command line (yargs, SSH, pg) in cli.ts.
 */
import { runMain } from '@pitrtools/cli/exit';
import { ExitCode, PitrError } from '@pitrtools/core/errors';
import { assertNotRoot } from '@pitrtools/core/root-guard';
import { parseFastPath, type FastInvocation } from './fast-path.js';

const PROGRAM = 'cmd_standby';

async function runBasebackup(inv: Extract<FastInvocation, { kind: 'basebackup' }>): Promise<number> {
  assertNotRoot(PROGRAM);
  const [{ basebackup }, { commandContext }, output, { withInterruptReport }, { basebackupLines }] = await Promise.all([
    import('./commands/basebackup.js'),
    import('./command-context.js'),
    import('@pitrtools/cli/output'),
    import('./basebackup-interrupt.js'),
    import('./cli/results.js'),
  ]);
  if (output.wantsColor(process.stderr)) await output.enableColor();
  const ctx = commandContext(inv.config, inv.verbose);
  const r = await withInterruptReport(PROGRAM, ctx.config.pgdata, ctx.config.file, () => basebackup(ctx, { checksum: inv.checksum }));
  for (const l of basebackupLines(r)) output.say(l);
  return ExitCode.OK;
}

async function runFast(inv: Exclude<FastInvocation, { kind: 'basebackup' }>): Promise<number> {
  assertNotRoot(PROGRAM);
  const { loadConfig } = await import('@pitrtools/core/config/index');
  const { config } = loadConfig(inv.config, 'standby');
  if (inv.kind === 'restore') {
    const [{ restoreWal, REJECTS_BEFORE_ALERT }, { dropTempsOnSignal }] = await Promise.all([
      import('./commands/restore.js'),
      import('@pitrtools/core/fs/temp-registry'),
    ]);
    // PostgreSQL's shutdown signals the process group of its startup process, this command
    // included: the temp file in pg_wal is removed before we end by that signal, or it would
    // stay there (PostgreSQL never removes a name it did not make).
    const releaseSignals = dropTempsOnSignal();
    const r = await restoreWal({ archivedir: config.archivedir, pgdata: config.pgdata, file: inv.file, dest: inv.dest }).finally(releaseSignals);
    // Not there (yet): PostgreSQL asks again later. Nothing to say; it probes for .history constantly.
    if (typeof r === 'string') return r === 'restored' ? ExitCode.OK : ExitCode.FAILED;
    // There but incomplete: refused (PostgreSQL asks again later), said in the server log, alerted once when it persists.
    const message = `not restoring ${inv.file} from ${config.archivedir}: ${r.rejected}`;
    if (r.times === REJECTS_BEFORE_ALERT) {
      const [{ raiseAlert }, { createLogger }, { stderrSink }] = await Promise.all([
        import('@pitrtools/core/alerts'),
        import('@pitrtools/core/log'),
        import('@pitrtools/cli/output'),
      ]);
      await raiseAlert(
        config,
        {
          level: 'CRITICAL',
          event: 'restore_rejected',
          segment: inv.file,
          role: 'standby',
          message: `${message}; refused ${r.times} times in a row, replay waits for it`,
        },
        createLogger(stderrSink),
      );
    }
    throw new PitrError('RESTORE_REJECTED', message, {
      hint: "PostgreSQL asks again; replace the file with the complete one from the master's pg_wal or archive",
    });
  }
  const { cleanupArchive } = await import('./commands/cleanup.js');
  await cleanupArchive({ archivedir: config.archivedir, restartFile: inv.restartFile, fullBackup: config.full_backup });
  return ExitCode.OK;
}

/** --send-files (hidden): the master's end of -B's block re-sync, run by -B over SSH; stdin/stdout carry its frames. */
async function runSendFiles(): Promise<number> {
  assertNotRoot(PROGRAM);
  const [{ serveSendFiles }, events] = await Promise.all([import('./basebackup/block-sender.js'), import('node:events').then((m) => m.default)]);
  const out = process.stdout;
  await serveSendFiles(process.stdin, async (b) => {
    if (!out.write(b)) await events.once(out, 'drain');
  });
  return ExitCode.OK;
}

// cmd_archiver's WAL receiver (compress): started over SSH, read by hand, hidden from --help.
async function runReceiver(args: readonly string[]): Promise<number> {
  assertNotRoot(PROGRAM);
  const dir = args[0];
  const rest = args.slice(1);
  if (dir === undefined || dir === '' || rest.some((a) => a !== '--no-dir-fsync')) {
    throw new PitrError('USAGE', `usage: ${PROGRAM} ${RECEIVE_FLAG} DIR [--no-dir-fsync] (started by cmd_archiver with compress)`);
  }
  const { receiveWalStream } = await import('./commands/receive-wal-stream.js');
  await receiveWalStream({ dir, dirFsync: !rest.includes('--no-dir-fsync') });
  return ExitCode.OK;
}

const RECEIVE_FLAG = '--receive-wal-stream';
const argv = process.argv.slice(2);
const fast = parseFastPath(argv);
if (argv.length === 1 && argv[0] === '--send-files') await runMain(PROGRAM, runSendFiles);
else if (argv[0] === RECEIVE_FLAG) await runMain(PROGRAM, () => runReceiver(argv.slice(1)));
else if (fast?.kind === 'basebackup') await runMain(PROGRAM, () => runBasebackup(fast), { debug: () => fast.verbose });
else if (fast) await runMain(PROGRAM, () => runFast(fast));
else await (await import('./cli.js')).runCli(argv);

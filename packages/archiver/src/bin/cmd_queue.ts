/**
 * cmd_queue's entry: the queue runner and warm shipper of cmd_archiver. The command line
 * cmd_archiver starts it with (`-C ini --log-file FILE`) skips the option parser.
 */
const argv = process.argv.slice(2);
if (argv.length === 4 && argv[0] === '-C' && argv[2] === '--log-file' && !argv[1]!.startsWith('-') && !argv[3]!.startsWith('-')) {
  const { runForegroundMain } = await import('../cli/queue-run.js');
  await runForegroundMain({ config: argv[1]!, logFile: argv[3]! });
} else {
  const { main } = await import('../cli/queue-cli.js');
  await main(argv);
}

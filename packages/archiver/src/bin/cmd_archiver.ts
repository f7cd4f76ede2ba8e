/**
 * cmd_archiver's entry. PostgreSQL starts it once per WAL segment, so the common case is kept
 * light: `-C ini -F %p` is recognised by hand and goes straight to the archive run (which waits
 * for cmd_queue's proof marker, else ships itself); only any other command line loads yargs.
 */
import { fastArchiveArgs } from '../cli/fast-argv.js';

const argv = process.argv.slice(2);
const fast = fastArchiveArgs(argv);
if (fast !== undefined) {
  const { runArchiveMain } = await import('../cli/archive-run.js');
  await runArchiveMain(fast);
} else {
  const { main } = await import('../cli/archiver-cli.js');
  await main(argv);
}

/**
 * cmd_archiver's entry. PostgreSQL starts it once per WAL segment, so the common case is kept
 * light: `-C ini -F %p` is recognised by hand and first put to the running cmd_queue over its
 * socket (node:net only). Only when that does not settle it are the config loader, SSH and,
 * for any other command line, yargs loaded.
 */
import { fastArchiveArgs } from '../cli/fast-argv.js';

const argv = process.argv.slice(2);
const fast = fastArchiveArgs(argv);
if (fast !== undefined) {
  let warmTried: string | undefined;
  let noDaemon = false;
  // As root the full path refuses with the proper message; never ask a daemon on root's behalf.
  if (process.geteuid?.() !== 0) {
    const { askDaemon } = await import('../warm/client.js');
    const answer = await askDaemon(fast.config, fast.file);
    if ('verdict' in answer) {
      // Reported exactly as the standalone run reports it (archive/verdict.ts, cli/exit.ts).
      if (answer.verdict.kind === 'archived') process.exit(0);
      const [{ verdictError }, { runMain }] = await Promise.all([import('../archive/verdict.js'), import('@pitrtools/cli/exit')]);
      const { verdict } = answer;
      await runMain('cmd_archiver', () => {
        throw verdictError(verdict);
      });
    } else {
      warmTried = answer.fallback;
      noDaemon = answer.absent === true;
    }
  }
  const { runArchiveMain } = await import('../cli/archive-run.js');
  await runArchiveMain({ ...fast, ...(warmTried !== undefined ? { warmTried } : {}), noDaemon });
} else {
  const { main } = await import('../cli/archiver-cli.js');
  await main(argv);
}

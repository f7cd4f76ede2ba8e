/**
 * What a data directory's server would use for a setting, asked from PostgreSQL itself:
 * `postgres -C NAME -D PGDATA` reads postgresql.conf, its includes and postgresql.auto.conf exactly
 * as a start would, prints the value and exits (documented in the postgres(1) reference page; it
 * works while the server runs, and refuses to run as root).
 */
import { PitrError } from '../errors.js';
import { runProcess } from '../proc.js';

/**
 * The value (string, as SHOW prints it) the server of `pgdata` would use for `name`.
 * Throws PitrError SHOW_SETTING_FAILED when postgres exits non-zero (a configuration file it cannot
 * parse, an unknown name), with its message.
 */
export async function showSetting(postgres: string, pgdata: string, name: string): Promise<string> {
  const r = await runProcess([postgres, '-C', name, '-D', pgdata], { timeoutMs: 60_000, env: { ...process.env, LC_MESSAGES: 'C' } });
  if (r.spawnError) throw new PitrError('SHOW_SETTING_FAILED', `cannot run ${postgres}: ${r.spawnError.message}`);
  if (r.code !== 0) {
    const why =
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .join('; ') || `exit ${r.code ?? r.signal}`;
    throw new PitrError('SHOW_SETTING_FAILED', `${postgres} -C ${name} -D ${pgdata} failed: ${why}`, {
      hint: `fix the configuration files of ${pgdata} (postgresql.conf, its includes, postgresql.auto.conf)`,
    });
  }
  // One line with the value; only the final newline is ours to strip (a value may end in spaces).
  return r.stdout.endsWith('\n') ? r.stdout.slice(0, -1) : r.stdout;
}

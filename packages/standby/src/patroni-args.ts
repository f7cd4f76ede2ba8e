/**
 * The command line of --patroni-replica, read by hand: Patroni appends `--key=value` for scope,
 * role, datadir, connstring and every extra parameter of the method's section, some of which mean
 * nothing to us (keep_data, no_params ...). Unknown ones are ignored with a debug line, so a newer
 * Patroni or a method option meant for another tool never makes the replica fail to be created.
 */
import { PitrError } from '@pitrtools/core/errors';
import type { PatroniReplicaOptions } from './commands/patroni-replica.js';

/** What `cmd_standby --patroni-replica ...` asked for. */
export interface PatroniInvocation {
  config: string;
  verbose: boolean;
  options: PatroniReplicaOptions;
  /** `--key=value` arguments we do not use, for a debug line. */
  ignored: string[];
}

function usage(message: string): PitrError {
  return new PitrError('USAGE', `--patroni-replica: ${message}`, {
    hint: 'Patroni runs it as: cmd_standby --patroni-replica -C <ini> --scope=S --datadir=D --role=replica --connstring=C (docs/patroni.md)',
  });
}

/** Parses the arguments of --patroni-replica; throws USAGE (exit 2) naming what is missing or wrong. */
export function parsePatroniArgs(argv: readonly string[]): PatroniInvocation {
  let config: string | undefined;
  let verbose = false;
  const kv = new Map<string, string>();
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--patroni-replica') continue;
    if (a === '-C' || a === '--config') config = argv[++i];
    else if (/^-C./.test(a)) config = a.slice(2);
    else if (a === '-v' || a === '--verbose') verbose = true;
    else {
      const m = /^--([A-Za-z0-9_-]+)=(.*)$/s.exec(a);
      if (!m) throw usage(`unexpected argument '${a}' (Patroni passes --key=value)`);
      if (m[1] === 'config') config = m[2];
      else kv.set(m[1]!, m[2]!);
    }
  }
  if (config === undefined || config === '') throw usage('-C <cmd_standby.ini> is required');
  const take = (k: string): string | undefined => {
    const v = kv.get(k);
    kv.delete(k);
    return v;
  };
  const role = take('role');
  if (role !== undefined && role !== 'replica') throw usage(`--role=${role}: only a replica can be created this way`);
  const datadir = take('datadir');
  const connstring = take('connstring');
  if (!datadir) throw usage('--datadir=<data directory> is missing');
  if (!connstring) throw usage('--connstring=<leader conninfo> is missing (Patroni gives none when no leader is known; there is nothing to copy then)');
  const scope = take('scope');
  const checksum = take('checksum');
  if (checksum !== undefined && !['true', 'false', 'on', 'off'].includes(checksum.toLowerCase())) throw usage(`--checksum=${checksum}: true or false`);
  for (const [k, v] of kv) ignored.push(`--${k}=${v}`);
  const options: PatroniReplicaOptions = {
    datadir,
    connstring,
    ...(scope !== undefined ? { scope } : {}),
    ...(checksum !== undefined ? { checksum: ['true', 'on'].includes(checksum.toLowerCase()) } : {}),
  };
  return { config, verbose, options, ignored };
}

/**
 * Finding a client program of a given PostgreSQL major (pg_verifybackup): Debian ships it beside
 * the server in /usr/lib/postgresql/<major>/bin, other installations beside pg_ctl or on PATH.
 * The major must match the backup's: pg_verifybackup reads WAL with the pg_waldump of its own
 * directory, and both read only their own major's formats.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import type { StandbyConfig } from '@pitrtools/core/config/index';
import { PitrError } from '@pitrtools/core/errors';

function versionMajor(path: string): number | undefined {
  try {
    accessSync(path, constants.X_OK);
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /\(PostgreSQL\)\s+(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The path of `tool` of PostgreSQL `major` (pg_bin, pg_ctl's directory, includepath, PATH, /usr/lib/postgresql/<major>/bin); throws PG_BINARIES_NOT_FOUND (exit 1). */
export function findPgTool(config: StandbyConfig, tool: string, major: number): string {
  const dirs = [
    ...(config.pg_bin ? [config.pg_bin] : []),
    ...(config.pg_ctl ? [dirname(config.pg_ctl)] : []),
    ...(config.includepath ?? []),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    `/usr/lib/postgresql/${major}/bin`,
  ];
  const tried: string[] = [];
  for (const d of [...new Set(dirs)]) {
    const p = join(d, tool);
    const m = versionMajor(p);
    if (m === major) return p;
    if (m !== undefined) tried.push(`${p} (PostgreSQL ${m})`);
  }
  throw new PitrError('PG_BINARIES_NOT_FOUND', `no ${tool} of PostgreSQL ${major} found${tried.length ? ` (tried: ${tried.join(', ')})` : ''}`, {
    hint: `install PostgreSQL ${major}'s client programs, or set pg_bin (or includepath) to the directory that holds ${tool}`,
  });
}

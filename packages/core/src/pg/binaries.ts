/**
 * Finding the local PostgreSQL server binaries (pg_ctl, postgres, initdb) in the documented order:
 * the `pg_ctl` or `pg_bin` key, then `includepath` and PATH, then `pg_config --bindir`, then the
 * newest /usr/lib/postgresql/<major>/bin. When a major version is wanted (it must match the
 * master's), candidates of another major are skipped. A `pg_ctl` or `pg_bin` key is decisive:
 * when what it names does not work, that is an error naming the key, never a silent fall-back to
 * another installation (which could be another major or another build).
 */
import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PitrError } from '../errors.js';

/** Where the binaries are and which major version they are. */
export interface PgBinaries {
  bindir: string;
  pg_ctl: string;
  postgres: string;
  initdb: string;
  /** e.g. 15 or 18. */
  major: number;
  /** How the directory was found, for debug output. */
  source: string;
}

/** What the search may use. */
export interface BinarySearch {
  pg_ctl?: string | undefined;
  pg_bin?: string | undefined;
  includepath?: readonly string[] | undefined;
  path?: string | undefined;
  wantMajor?: number | undefined;
  /** Root of the /usr/lib/postgresql layout (tests point it elsewhere). */
  distRoot?: string;
  /** The ini file the keys come from, for messages. */
  file?: string | undefined;
}

const isExec = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Major version printed by `<bindir>/pg_ctl --version`, e.g. "pg_ctl (PostgreSQL) 15.18" → 15. */
export function binaryMajor(pgCtl: string): number | undefined {
  try {
    const out = execFileSync(pgCtl, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /\(PostgreSQL\)\s+(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The binaries in `dir` (pg_ctl there is executable), or why not. */
function tryDir(dir: string, source: string, wantMajor: number | undefined): PgBinaries | string {
  // /usr/local/bin/pg_ctl may be a symlink into the real bin directory: postgres lives there.
  const real = dirname(realpathSync(join(dir, 'pg_ctl')));
  const bins = { pg_ctl: join(real, 'pg_ctl'), postgres: join(real, 'postgres'), initdb: join(real, 'initdb') };
  if (!isExec(bins.postgres)) return `no postgres in ${real}`;
  const major = binaryMajor(bins.pg_ctl);
  if (major === undefined) return 'pg_ctl --version failed';
  if (wantMajor !== undefined && major !== wantMajor) return `PostgreSQL ${major}, the master runs ${wantMajor}`;
  return { bindir: real, ...bins, major, source };
}

function candidates(s: BinarySearch): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (s.pg_ctl) out.push([dirname(s.pg_ctl), 'pg_ctl key']);
  if (s.pg_bin) out.push([s.pg_bin, 'pg_bin key']);
  for (const d of s.includepath ?? []) out.push([d, 'includepath']);
  for (const d of (s.path ?? process.env.PATH ?? '').split(delimiter)) if (d) out.push([d, 'PATH']);
  try {
    const d = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (d) out.push([d, 'pg_config --bindir']);
  } catch {
    /* no pg_config */
  }
  const root = s.distRoot ?? '/usr/lib/postgresql';
  try {
    const majors = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of majors) out.push([join(root, v, 'bin'), root]);
  } catch {
    /* not a Debian layout */
  }
  return out;
}

/**
 * Finds pg_ctl, postgres and initdb side by side; throws PG_BINARIES_NOT_FOUND (exit 1) with what
 * was tried, or PG_BINARIES_KEY (exit 2) when the pg_ctl or pg_bin key names something that does
 * not work (not there, not executable, no postgres beside it, another major).
 */
export function locatePgBinaries(s: BinarySearch = {}): PgBinaries {
  const key = s.pg_ctl ? 'pg_ctl' : s.pg_bin ? 'pg_bin' : undefined;
  if (key !== undefined) {
    const dir = s.pg_ctl ? dirname(s.pg_ctl) : s.pg_bin!;
    const pgCtl = s.pg_ctl ?? join(dir, 'pg_ctl');
    const r = isExec(pgCtl) ? tryDir(dir, `${key} key`, s.wantMajor) : `${pgCtl} is not an executable file`;
    if (typeof r !== 'string') return r;
    const value = s.pg_ctl ?? s.pg_bin!;
    throw new PitrError('PG_BINARIES_KEY', `${s.file ? `${s.file}: ` : ''}${key}: ${value}: ${r}`, {
      hint: `set ${key} to ${key === 'pg_ctl' ? 'the pg_ctl' : 'the bin directory'} of PostgreSQL ${s.wantMajor ?? 'NN'} (e.g. /usr/lib/postgresql/${s.wantMajor ?? 'NN'}/bin${key === 'pg_ctl' ? '/pg_ctl' : ''}), or remove the key to search includepath, PATH, pg_config and /usr/lib/postgresql`,
    });
  }
  const tried: string[] = [];
  const seen = new Set<string>();
  for (const [dir, source] of candidates(s)) {
    const pgCtl = join(dir, 'pg_ctl');
    if (!isExec(pgCtl)) continue;
    // /usr/local/bin/pg_ctl may be a symlink into the real bin directory: postgres lives there.
    const real = dirname(realpathSync(pgCtl));
    if (seen.has(real)) continue;
    seen.add(real);
    const r = tryDir(dir, source, s.wantMajor);
    if (typeof r !== 'string') return r;
    tried.push(`${real} (${r})`);
  }
  const want = s.wantMajor !== undefined ? ` for PostgreSQL ${s.wantMajor}` : '';
  throw new PitrError('PG_BINARIES_NOT_FOUND', `no PostgreSQL server binaries${want} found${tried.length ? ` (tried: ${tried.join(', ')})` : ''}`, {
    hint: `set pg_ctl: /usr/lib/postgresql/${s.wantMajor ?? 'NN'}/bin/pg_ctl in the ini file`,
  });
}

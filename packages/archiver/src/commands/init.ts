/**
 * cmd_archiver -I: creates l_archivedir (0700) with one 0700 queue per slave, as the original
 * did, refusing a non-empty or unwritable one; checks that pgdata is a data directory and that
 * PostgreSQL will call archive_command at all; prints the archive_command line to use.
 */
import { constants, promises as fsp } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { slaveLabel } from '@pitrtools/core/config/slaves';
import { resolveSlaves } from '@pitrtools/core/config/ssh-targets';
import { PitrError, errorCode } from '@pitrtools/core/errors';
import { fsyncDir } from '@pitrtools/core/fs/atomic';
import { checkOwnDir } from '@pitrtools/core/fs/ownership';
import { requireDataDirectory } from '../archive/pgdata.js';
import { archiveCommandValue } from '@pitrtools/core/pg/archive-command';
import { confLine } from '@pitrtools/core/pg/conf-value';
import { readArchiveSettings, type ArchiveSettings } from '../pg/archive-settings.js';
import type { ReportLine } from './validate.js';

/** Options of -I. */
export interface InitOptions {
  config: ArchiverConfig;
  /** Absolute path of the sh front end bin/cmd_archiver, for the archive_command line. */
  cmdArchiver: string;
  /** PATH to look for `node` in (the front end's slow path runs it); default process.env.PATH. */
  searchPath?: string;
  /** Where the archiving settings come from (tests pass a fake). */
  settings?: (pgdata: string) => Promise<ArchiveSettings>;
}

/** What -I did and what to put into postgresql.conf. */
export interface InitReport {
  lines: ReportLine[];
  /** The complete `archive_command = '...'` line. */
  archiveCommandLine: string;
}

function fail(message: string, hint?: string): PitrError {
  return new PitrError('INIT_REFUSED', message, { ...(hint ? { hint } : {}) });
}

/** Runs -I. */
export async function initCommand(o: InitOptions): Promise<InitReport> {
  const c = o.config;
  await requireDataDirectory(c.pgdata);
  const slaves = resolveSlaves(c, () => true);
  const dir = c.l_archivedir;
  const lines: ReportLine[] = [];
  const st = await fsp.lstat(dir).catch((err: unknown) => (errorCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
  if (st !== undefined) {
    // Another user's directory, or a link: refused before we look inside (an own one is made 0700 below).
    if (st.isSymbolicLink() || st.uid !== (process.geteuid?.() ?? 0)) await checkOwnDir(dir, 'l_archivedir');
    if (!st.isDirectory()) throw fail(`l_archivedir ${dir} exists and is not a directory`);
    const entries = await fsp.readdir(dir);
    // Run again after a slave was added: the directory holds the queue of at least one configured
    // slave, so it is ours; the new slaves get their queues below and the others are kept.
    const known = slaves.filter((sl) => entries.includes(sl.name));
    if (entries.length > 0 && known.length === 0) {
      throw fail(
        `l_archivedir ${dir} is not empty and holds no queue of the slaves in ${c.file} (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}); -I sets up a new one or adds queues to one it set up`,
        'name an empty or new directory in l_archivedir, or move this one away first',
      );
    }
    if (
      !(await fsp.access(dir, constants.W_OK | constants.X_OK).then(
        () => true,
        () => false,
      ))
    )
      throw fail(`l_archivedir ${dir} is not writable by this user`);
    lines.push({ level: 'INFO', text: known.length > 0 ? `using ${dir}, set up by an earlier -I` : `using the empty directory ${dir}` });
  } else {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsyncDir(dirname(dir));
    lines.push({ level: 'INFO', text: `created ${dir}` });
  }
  await fsp.chmod(dir, 0o700);
  await checkOwnDir(dir, 'l_archivedir');
  for (const s of slaves) {
    const q = join(dir, s.name);
    const made = await fsp.mkdir(q, { mode: 0o700 }).then(
      () => true,
      (err: unknown) => (errorCode(err) === 'EEXIST' ? false : Promise.reject(err)),
    );
    if (!made) await checkOwnDir(q, `the queue of slave ${s.name}`);
    lines.push({ level: 'INFO', text: made ? `created the queue ${q} for slave ${slaveLabel(s)}` : `kept the queue ${q} of slave ${slaveLabel(s)}` });
  }
  await fsyncDir(dir);
  lines.push(...settingsWarnings(await (o.settings ?? readArchiveSettings)(c.pgdata)));
  lines.push(...(await frontEndNotes(resolve(c.file), o.searchPath ?? process.env.PATH ?? '')));
  return { lines, archiveCommandLine: confLine('archive_command', archiveCommandValue(o.cmdArchiver, resolve(c.file))) };
}

/** What the sh front end needs that -I can see: the ini as a file (proof markers name it) and node on PATH. */
async function frontEndNotes(ini: string, searchPath: string): Promise<ReportLine[]> {
  const out: ReportLine[] = [];
  if ((await fsp.lstat(ini)).isSymbolicLink()) {
    out.push({
      level: 'WARNING',
      text: `${ini} is a symbolic link: cmd_archiver then starts Node.js for every segment`,
      hint: `name the file itself in archive_command: ${await fsp.realpath(ini)}`,
    });
  }
  const dirs = searchPath.split(delimiter).filter((d) => d.startsWith('/'));
  const found = await Promise.all(
    dirs.map((d) =>
      fsp.access(join(d, 'node'), constants.X_OK).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (!found.includes(true)) {
    out.push({
      level: 'WARNING',
      text: 'node is not on PATH: archive_command runs `node` from the PATH PostgreSQL was started with',
      hint: 'link node into /usr/local/bin or /usr/bin',
    });
  }
  return out;
}

/** What is wrong with the server's archiving settings for us, as report lines. */
export function settingsWarnings(s: ArchiveSettings): ReportLine[] {
  const out: ReportLine[] = [];
  if (s.note) out.push({ level: 'INFO', text: s.note });
  if (s.source === 'unknown') {
    return [...out, { level: 'WARNING', text: 'cannot tell whether archiving is on: the server is not running and pgdata has no postgresql.conf' }];
  }
  const mode = s.archive_mode ?? 'off';
  const shown = (['archive_mode', 'archive_library', 'archive_command'] as const)
    .map((k) => `${k} = '${s[k] ?? (k === 'archive_mode' ? 'off' : '')}'`)
    .join(', ');
  out.push({ level: 'INFO', text: `archiving settings from ${s.source}: ${shown}` });
  if (mode === 'off') {
    out.push({
      level: 'WARNING',
      text: `archive_mode is off (${s.source}): PostgreSQL archives nothing`,
      hint: 'set archive_mode = on in postgresql.conf (takes a restart)',
    });
  }
  if (s.archive_library) {
    out.push({
      level: 'WARNING',
      text: `archive_library is set to '${s.archive_library}' (${s.source}): PostgreSQL then uses that module, not archive_command`,
      hint: "set archive_library = '' (PostgreSQL 16+ refuses both at once)",
    });
  }
  return out;
}

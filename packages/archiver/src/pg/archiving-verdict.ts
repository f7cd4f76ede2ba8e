/**
 * Does the local server archive with this ini? A pure judgement of pg_is_in_recovery(),
 * archive_mode, archive_library and archive_command, for --status and --check: a server in
 * recovery runs no archive_command (unless archive_mode = always), and archive_command must run
 * cmd_archiver with this ini, as `cmd_archiver --setup` sets it.
 */

/**
 * How the local server archives: `cmd_archiver` (it runs cmd_archiver with this ini), `in-recovery`
 * (a standby, archive_mode not always: it archives nothing), `mode-off`, `library` (archive_library
 * replaces archive_command), `empty` (archive_command ''), `other` (a command that is not
 * cmd_archiver with this ini).
 */
export type Archiving = 'cmd_archiver' | 'in-recovery' | 'mode-off' | 'library' | 'empty' | 'other';

/** What the server says, as pg_settings shows it, plus whether archive_command names this ini. */
export interface ArchivingFacts {
  inRecovery: boolean;
  /** off, on or always. */
  archiveMode: string;
  /** '' when unset (and on PostgreSQL 14, which has no archive_library). */
  archiveLibrary: string;
  /** As pg_settings shows it: '(disabled)' while archive_mode is off. */
  archiveCommand: string;
  /** archive_command runs cmd_archiver -C with this ini and -F (see archiveCommandIni). */
  commandIsOurs: boolean;
}

/** The verdict; `problem` (reason and fix, one line, no `;`) unless archiving is `cmd_archiver`. */
export interface ArchivingVerdict {
  archiving: Archiving;
  problem?: string;
}

/** Judges the facts for the ini `ini`; `command` names the action in the text (`--status`, `--check`). */
export function judgeArchiving(f: ArchivingFacts, ini: string, command: string): ArchivingVerdict {
  const setup = `run cmd_archiver -C ${ini} --setup`;
  if (f.inRecovery && f.archiveMode !== 'always') {
    return {
      archiving: 'in-recovery',
      problem:
        `this server is in recovery (a standby): PostgreSQL does not run archive_command here, nothing is archived with ${ini} ` +
        `(cmd_archiver ${command} belongs on the master)`,
    };
  }
  if (f.archiveMode === 'off')
    return { archiving: 'mode-off', problem: `archive_mode is off: PostgreSQL archives nothing (${setup}, then restart PostgreSQL)` };
  if (f.archiveLibrary !== '') {
    return { archiving: 'library', problem: `archive_library is '${f.archiveLibrary}': PostgreSQL uses that module, not cmd_archiver (${setup})` };
  }
  if (f.archiveCommand === '') return { archiving: 'empty', problem: `archive_command is empty: nothing is archived (${setup})` };
  if (!f.commandIsOurs) {
    return { archiving: 'other', problem: `archive_command '${f.archiveCommand}' does not run cmd_archiver -C ${ini} -F %p (${setup})` };
  }
  return { archiving: 'cmd_archiver' };
}

const OPERATORS = new Set([';', '&', '&&', '|', '||']);

/**
 * The ini that archive_command hands to cmd_archiver (`-C INI`, `-CINI`, `--config INI`,
 * `--config=INI`, with `-F` or `--file` beside it), as written (relative paths are relative to
 * pgdata, PostgreSQL's working directory); undefined when no cmd_archiver is run that way.
 */
export function archiveCommandIni(command: string): string | undefined {
  const words = shellWords(command.replace(/%%/g, '%'));
  for (let i = 0; i < words.length; i++) {
    if (!/(^|\/)cmd_archiver(\.js)?$/.test(words[i]!)) continue;
    let ini: string | undefined;
    let file = false;
    for (let j = i + 1; j < words.length && !OPERATORS.has(words[j]!); j++) {
      const w = words[j]!;
      const long = /^--config(?:=(.*))?$/s.exec(w);
      if (long) ini = long[1] ?? words[++j];
      else if (w.startsWith('-C')) ini = w.length > 2 ? w.slice(2) : words[++j];
      else if (/^(-F|--file)/.test(w)) file = true;
    }
    if (ini !== undefined && ini !== '' && file) return ini;
  }
  return undefined;
}

/** Splits a /bin/sh command line into words: quotes and backslashes as sh reads them, no expansion. */
function shellWords(s: string): string[] {
  const out: string[] = [];
  let w: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      if (w !== undefined) out.push(w);
      w = undefined;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      w = (w ?? '') + s.slice(i + 1, end < 0 ? s.length : end);
      i = end < 0 ? s.length : end;
    } else if (c === '"') {
      w ??= '';
      for (i++; i < s.length && s[i] !== '"'; i++) w += s[i] === '\\' && /["\\$`]/.test(s[i + 1] ?? '') ? s[++i] : s[i];
    } else if (c === '\\') {
      w = (w ?? '') + (s[++i] ?? '');
    } else {
      w = (w ?? '') + c;
    }
  }
  if (w !== undefined) out.push(w);
  return out;
}

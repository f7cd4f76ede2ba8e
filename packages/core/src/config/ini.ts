/**
 * An ini parser that reads what Python's ConfigParser read, so existing pitrtools files load
 * unchanged. Values stay raw text here (interpolate.ts and values.ts come later); every entry
 * keeps its line number so that later errors can point at it.
 */
import { ConfigError } from '../errors.js';
import { ConfigCode } from './codes.js';

/** The section that holds keys given before any header, and the fallback of every section. */
export const DEFAULT_SECTION = 'DEFAULT';

/** One `key: value` (or `key = value`) entry. */
export interface IniEntry {
  readonly section: string;
  /** Lower-cased, as ConfigParser's optionxform does. */
  readonly key: string;
  /** Raw text: inline comment removed, blanks trimmed, continuation lines joined with "\n". */
  value: string;
  readonly line: number;
}

/** A `[name]` section; repeated headers merge into one, as in Python 2. */
export interface IniSection {
  readonly name: string;
  /** Line of the first header; undefined for a DEFAULT that was never written out. */
  line: number | undefined;
  readonly entries: Map<string, IniEntry>;
}

/** A key given twice in one section; the later one wins. */
export interface IniDuplicate {
  readonly section: string;
  readonly key: string;
  readonly firstLine: number;
  readonly line: number;
}

/** A parsed file. DEFAULT always exists. */
export interface IniDocument {
  readonly file: string;
  readonly sections: Map<string, IniSection>;
  readonly duplicates: IniDuplicate[];
}

const SECTION_RE = /^\[([^\]]+)\]\s*(?:[;#].*)?$/;
// As Python's OPTCRE: the first ':' or '=' splits; the key cannot start with either.
const OPTION_RE = /^([^:=\s][^:=]*?)\s*([:=])(.*)$/;

/** Parses ini text; throws ConfigError (with file and line) on a line it cannot read. */
export function parseIni(text: string, file: string): IniDocument {
  const sections = new Map<string, IniSection>();
  const duplicates: IniDuplicate[] = [];
  const section = (name: string, line: number | undefined): IniSection => {
    let s = sections.get(name);
    if (!s) sections.set(name, (s = { name, line, entries: new Map() }));
    s.line ??= line; // DEFAULT exists from the start; its header may come later
    return s;
  };
  let current = section(DEFAULT_SECTION, undefined);
  let last: { entry: IniEntry; indent: number } | undefined;

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trimEnd();
    const trimmed = line.trimStart();
    const indent = line.length - trimmed.length;
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;
    // Continuation: Python 3's rule (indented deeper than the line that started the key), so a
    // file indented as a whole, like the archiver block of the how-to, still reads as keys.
    if (last && indent > last.indent) {
      last.entry.value += `\n${trimmed}`;
      return;
    }
    const sec = SECTION_RE.exec(trimmed);
    if (sec) {
      const name = sec[1]!.trim();
      current = section(name, lineNo);
      last = undefined;
      return;
    }
    const opt = OPTION_RE.exec(trimmed);
    if (!opt) {
      const shown = trimmed.length > 40 ? `${trimmed.slice(0, 40)}...` : trimmed;
      throw new ConfigError(ConfigCode.SYNTAX, file, `cannot read '${shown}': expected \`key: value\`, \`key = value\`, a [section] or a ; comment`, {
        line: lineNo,
      });
    }
    const key = opt[1]!.trim().toLowerCase();
    const entry: IniEntry = { section: current.name, key, value: stripInlineComment(opt[3]!), line: lineNo };
    const prev = current.entries.get(key);
    if (prev) duplicates.push({ section: current.name, key, firstLine: prev.line, line: lineNo });
    current.entries.set(key, entry);
    last = { entry, indent };
  });
  return { file, sections, duplicates };
}

/**
 * Python 2 inline comments: a ';' preceded by whitespace ends the value ('#' does not, and a
 * ';' inside a word such as `a;b` is kept). `""` means an empty value, as in Python 2.
 * `rest` is everything after the ':' or '=', so `key: ; note` is an empty value.
 */
function stripInlineComment(rest: string): string {
  const m = /(^|\s);/.exec(rest);
  const v = (m ? rest.slice(0, m.index) : rest).trim();
  return v === '""' ? '' : v;
}

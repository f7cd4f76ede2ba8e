/**
 * Values in PostgreSQL configuration files (postgresql.conf, postgresql.auto.conf, included files),
 * written and read the way the server's own lexer does (src/backend/utils/misc/guc-file.l):
 * a string is '...' where `''` is a quote and a backslash starts an escape (\b \f \n \r \t, octal
 * digits, `\x` for any other x); a string never spans lines; `#` starts a comment outside quotes.
 * Every value either program writes into such a file goes through confQuote.
 */
import { PitrError } from '../errors.js';

/**
 * A postgresql.conf string literal that reads back as `value`: `'` and `\` doubled, as ALTER SYSTEM
 * writes them (escape_single_quotes_ascii). Throws PitrError BAD_CONF_VALUE (exit 2) naming `key`
 * when the value holds a line break or NUL, which no configuration string can carry.
 */
export function confQuote(value: string, key: string): string {
  if (/[\0\n\r]/.test(value)) {
    throw new PitrError('BAD_CONF_VALUE', `the value of ${key} cannot hold a line break or NUL: ${JSON.stringify(value)}`, {
      hint: `remove the line break from what ${key} is made of (an ini path or name)`,
    });
  }
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** `key = 'value'`, one postgresql.conf line (no newline); errors as confQuote. */
export function confLine(key: string, value: string): string {
  return `${key} = ${confQuote(value, key)}`;
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** The text of a quoted string (with its quotes) as the server reads it (DeescapeQuotedString). */
export function confUnquote(quoted: string): string {
  const s = quoted.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      const next = s[++i]!;
      if (next >= '0' && next <= '7') {
        let oct = next;
        while (oct.length < 3 && i + 1 < s.length && s[i + 1]! >= '0' && s[i + 1]! <= '7') oct += s[++i];
        out += String.fromCharCode(parseInt(oct, 8) & 0xff);
      } else out += ESCAPES[next] ?? next;
    } else if (ch === "'" && s[i + 1] === "'") {
      out += "'";
      i++;
    } else out += ch;
  }
  return out;
}

/** One line of a configuration file: nothing (blank, comment), a setting, or what the server refuses. */
export type ConfLineParse = { kind: 'empty' } | { kind: 'setting'; name: string; value: string; quoted: boolean } | { kind: 'error'; reason: string };

// guc-file.l: ID, QUALIFIED_ID, STRING, and the unquoted forms (UNQUOTED_STRING, INTEGER, REAL).
const NAME = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*(?:\.[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?/;
const STRING = /^'(?:[^'\\\n]|\\.|'')*'/;
const UNQUOTED = /^[A-Za-z0-9_\u0080-\uffff+\-.:/]+/;

/** Parses one line (without its newline) as the server's lexer does; names are lower-cased as the server matches them. */
export function parseConfLine(line: string): ConfLineParse {
  let rest = line.replace(/^[ \t\r]+/, '');
  if (rest === '' || rest.startsWith('#')) return { kind: 'empty' };
  const name = NAME.exec(rest);
  if (!name) return { kind: 'error', reason: 'no setting name' };
  rest = rest.slice(name[0].length).replace(/^[ \t\r]+/, '');
  if (rest.startsWith('=')) rest = rest.slice(1).replace(/^[ \t\r]+/, '');
  let value: string;
  let quoted = false;
  const str = STRING.exec(rest);
  if (str) {
    value = confUnquote(str[0]);
    quoted = true;
    rest = rest.slice(str[0].length);
  } else {
    const bare = UNQUOTED.exec(rest);
    if (!bare) return { kind: 'error', reason: rest.startsWith("'") ? 'unterminated quoted string' : 'no value' };
    value = bare[0];
    rest = rest.slice(bare[0].length);
  }
  rest = rest.replace(/^[ \t\r]+/, '');
  if (rest !== '' && !rest.startsWith('#')) return { kind: 'error', reason: `unexpected text after the value: ${rest}` };
  return { kind: 'setting', name: name[0].toLowerCase(), value, quoted };
}

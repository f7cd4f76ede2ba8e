/**
 * Changing a few keys of an ini file in place, as a person would with an editor: the line of each
 * key in the DEFAULT section (before any header, or under [DEFAULT]) gets the new value, every
 * other line (comments, other sections, order) stays as it was; a missing key is added at the end
 * of the DEFAULT section. Used by `cmd_standby --follow --master`, so that every later command
 * (--check, -S, -B) reads the new master from the same file. Pure text in, text out.
 */
import { DEFAULT_SECTION } from './ini.js';

const SECTION_RE = /^\[([^\]]+)\]\s*(?:[;#].*)?$/;
const OPTION_RE = /^([^:=\s][^:=]*?)\s*([:=])(.*)$/;

/** `text` with `values` set in its DEFAULT section; throws TypeError for a value with a line break (an ini value cannot hold one). */
export function setIniKeys(text: string, values: Readonly<Record<string, string>>): string {
  for (const [k, v] of Object.entries(values)) {
    if (/[\r\n]/.test(v) || /[\r\n:=]/.test(k)) throw new TypeError(`cannot write ${k} = ${JSON.stringify(v)} into an ini file`);
  }
  const lines = text.split('\n');
  const out: string[] = [];
  const left = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  let inDefault = true;
  let endOfDefault = -1; // index in `out` after the last line of DEFAULT
  let skipping = false;
  for (const line of lines) {
    if (skipping && /^[ \t]+\S/.test(line)) continue; // continuation of a replaced value
    skipping = false;
    const sec = SECTION_RE.exec(line.trim());
    if (sec && line.trim() === line.trim() && !/^[ \t]/.test(line)) {
      if (inDefault && endOfDefault < 0) endOfDefault = out.length;
      inDefault = sec[1]!.trim() === DEFAULT_SECTION;
      if (inDefault) endOfDefault = -1;
      out.push(line);
      continue;
    }
    const opt = /^[ \t]/.test(line) || /^[#;]/.test(line) ? null : OPTION_RE.exec(line);
    const key = opt?.[1]!.trim().toLowerCase();
    if (inDefault && key !== undefined && left.has(key)) {
      out.push(`${opt![1]!.trim()}${opt![2] === '=' ? ' = ' : ': '}${left.get(key)}`);
      left.delete(key);
      skipping = true;
      continue;
    }
    out.push(line);
  }
  if (left.size > 0) {
    const add = [...left].map(([k, v]) => `${k}: ${v}`);
    let at = endOfDefault < 0 ? out.length : endOfDefault;
    // Before the blank lines that end the section, and never after a trailing empty line.
    while (at > 0 && out[at - 1]!.trim() === '') at--;
    out.splice(at, 0, ...add);
  }
  return out.join('\n');
}

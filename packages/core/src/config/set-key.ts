/**
 * Changes one key of [DEFAULT] in ini text, keeping every other byte (comments, order, layout):
 * cmd_archiver --stop / --setup switch `state` this way. Pure; the caller writes the file.
 */
import { DEFAULT_SECTION, parseIni } from './ini.js';

/**
 * `text` with `key: value` in [DEFAULT]: the line that sets it replaced (a later duplicate wins, as
 * when loading), else a line added after the [DEFAULT] header, else at the top. Throws ConfigError
 * (exit 2, file and line) when the text does not parse.
 */
export function setDefaultKey(text: string, file: string, key: string, value: string): string {
  const doc = parseIni(text, file);
  const section = doc.sections.get(DEFAULT_SECTION)!;
  const lines = text.split('\n');
  const line = `${key}: ${value}`;
  const entry = section.entries.get(key.toLowerCase());
  if (entry !== undefined) {
    // A continuation line would belong to the old value: drop those too.
    let end = entry.line;
    while (end < lines.length && /^[ \t]+\S/.test(lines[end]!) && !/^\s*[;#]/.test(lines[end]!)) end++;
    lines.splice(entry.line - 1, end - entry.line + 1, line);
  } else {
    lines.splice(section.line ?? 0, 0, line);
  }
  return lines.join('\n');
}

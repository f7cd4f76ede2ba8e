/**
 * Reading settings out of postgresql.conf / postgresql.auto.conf the way the server does, for when
 * it is not running: one line at a time through core's parseConfLine (the server's lexer: '' and
 * backslash escapes in strings, # comments), names case-insensitive, the last setting wins, include / include_if_exists /
 * include_dir relative to the including file.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { parseConfLine } from './conf-value.js';

/** One `name = value` line. */
export interface ConfEntry {
  name: string;
  value: string;
  file: string;
  line: number;
}

/** Parses one file's text into entries (includes left as entries named include*); lines the server would refuse are skipped. */
export function parseConfText(text: string, file: string): ConfEntry[] {
  const out: ConfEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const p = parseConfLine(raw);
    if (p.kind === 'setting') out.push({ name: p.name, value: p.value, file, line: i + 1 });
  });
  return out;
}

/** How conf files are read (node:fs in production). */
export interface ConfReader {
  read(path: string): Promise<string | undefined>;
  list(dir: string): Promise<string[]>;
}

/** The effective settings of `files` read in order (includes followed); last wins. */
export async function readConfSettings(files: readonly string[], io: ConfReader): Promise<Map<string, ConfEntry>> {
  const settings = new Map<string, ConfEntry>();
  const visit = async (file: string, depth: number, mustExist: boolean): Promise<void> => {
    if (depth > 10) return; // the server's own limit, and a guard against include loops
    const text = await io.read(file);
    if (text === undefined) {
      if (mustExist && depth > 0) throw new Error(`${file} (included) cannot be read`);
      return;
    }
    for (const e of parseConfText(text, file)) {
      const target = isAbsolute(e.value) ? e.value : join(dirname(file), e.value);
      if (e.name === 'include') await visit(target, depth + 1, true);
      else if (e.name === 'include_if_exists') await visit(target, depth + 1, false);
      else if (e.name === 'include_dir') {
        for (const f of (await io.list(target)).filter((n) => n.endsWith('.conf') && !n.startsWith('.')).sort()) {
          await visit(join(target, f), depth + 1, true);
        }
      } else settings.set(e.name, e);
    }
  };
  for (const f of files) await visit(f, 0, false);
  return settings;
}

/**
 * The old `rsync_flags` key (pitrtools 1.3's how-to sets `-z`): rsync is not run any more, but a
 * request for compression in it still means compression on the wire. One reading for both files,
 * the way rsync reads its command line for that one question (rsync(1), and rsync 3.5.0 run with
 * --debug=nstr2 on each case of the unit test):
 * - -z / --compress (also inside a bundle such as -avz), --old-compress, --new-compress: on;
 *   --no-compress / --no-z: off, and it drops an earlier --compress-choice. Of these the last wins.
 * - --compress-choice=X / --zc=X: X implies compression, except none (off whatever else is given);
 *   auto is as if it were not given.
 * - --compress-level=N / --zl=N implies compression wherever it stands (even before --no-z),
 *   except level 0, which zlib (the only algorithm of the rsync pitrtools 1.3 ran) treats as off.
 */
import { splitWords } from '../words.js';

/** What rsync_flags asks for: the `compress` value it reads as, or undefined for no compression. */
export type RsyncCompression = 'zstd' | 'lz4' | undefined;

// Short options that take an argument: the rest of the bundle (or the next word) is that argument.
const SHORT_WITH_ARG = 'eBTfM@';
// Long options whose argument may be the next word.
const LONG_WITH_ARG = new Set(['compress-choice', 'zc', 'compress-level', 'zl', 'rsh', 'block-size', 'temp-dir', 'filter', 'remote-option', 'modify-window']);

/** Reads rsync flags as rsync would for compression; lz4 for --compress-choice=lz4, zstd for any other compression. */
export function rsyncCompression(flags: string): RsyncCompression {
  let z = false;
  let choice: string | undefined;
  let level: number | undefined;
  const words = wordsOf(flags);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') break;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = w.slice(2, eq < 0 ? undefined : eq);
      const arg = eq >= 0 ? w.slice(eq + 1) : LONG_WITH_ARG.has(name) ? words[++i] : undefined;
      if (name === 'compress') z = true;
      else if (name === 'no-compress' || name === 'no-z') [z, choice] = [false, undefined];
      else if (name === 'old-compress' || name === 'new-compress') [z, choice] = [true, name === 'old-compress' ? 'zlib' : 'zlibx'];
      else if (name === 'compress-choice' || name === 'zc') choice = arg === undefined || arg.toLowerCase() === 'auto' ? undefined : arg.toLowerCase();
      else if ((name === 'compress-level' || name === 'zl') && arg !== undefined && /^-?\d+$/.test(arg)) level = Number(arg);
    } else if (w.startsWith('-')) {
      for (let j = 1; j < w.length; j++) {
        if (w[j] === 'z') z = true;
        if (SHORT_WITH_ARG.includes(w[j]!)) {
          if (j === w.length - 1) i++; // -e ssh: the next word is the argument
          break;
        }
      }
    }
  }
  const zlib = choice === undefined || choice === 'zlib' || choice === 'zlibx';
  if (choice === 'none' || (level === 0 && zlib)) return undefined;
  if (choice === undefined && !z && level === undefined) return undefined;
  return choice === 'lz4' ? 'lz4' : 'zstd';
}

/** The notice both programs give when rsync_flags turns compression on: file, line, key, and what to write instead. */
export function rsyncCompressionNotice(file: string, line: number, flags: string, compress: 'zstd' | 'lz4'): string {
  return (
    `${file}:${line}: key 'rsync_flags': '${flags}' asks rsync for compression, read as compress: ${compress} (rsync is not run); ` +
    `write compress: ${compress} in its place to keep it, or compress: none to send uncompressed`
  );
}

// A value with an unbalanced quote is still read word by word rather than refused: the key was never checked before.
function wordsOf(flags: string): string[] {
  try {
    return splitWords(flags);
  } catch {
    return flags.split(/\s+/).filter((w) => w !== '');
  }
}

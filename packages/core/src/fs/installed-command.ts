/**
 * The path by which PostgreSQL should run one of our programs (archive_command, restore_command,
 * archive_cleanup_command): the command npm put on PATH when that is this very installation, so a
 * line written today still works after `npm install -g` of a newer tarball; otherwise the file
 * itself. And whether that file lies inside a source checkout, whose removal would stop archiving
 * or recovery (issue 16: `npm install -g .` linked the clone).
 */
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/** Where a program of this installation lives, for lines other programs run later. */
export interface InstalledCommand {
  /** Absolute path to name: PATH's `name` when it resolves to the same file, else the file. */
  path: string;
  /** The checkout (the directory holding .git) the file lies in, when it does. */
  sourceTree?: string;
}

const real = (p: string): string | undefined => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};

/** Resolves `name` on `searchPath` (absolute entries only) against `file` (absolute); never throws. */
export function installedCommand(name: string, file: string, searchPath: string = process.env.PATH ?? ''): InstalledCommand {
  const target = real(file) ?? file;
  let path = file;
  for (const dir of searchPath.split(delimiter)) {
    if (!dir.startsWith('/')) continue; // a relative PATH entry depends on the caller's cwd
    // `npm run` / `npm test` put a checkout's node_modules/.bin first on PATH: not an installation.
    if (/\/node_modules\/\.bin\/?$/.test(dir)) continue;
    if (real(join(dir, name)) === target) {
      path = join(dir, name);
      break;
    }
  }
  for (let d = dirname(target); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return { path, sourceTree: d };
    if (d === dirname(d)) return { path };
  }
}

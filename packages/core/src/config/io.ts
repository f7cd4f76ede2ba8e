/**
 * The configuration layer's only contact with the machine: reading the file, checking that
 * key files exist, and the user's home and name. Everything else is pure and tested on strings.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { ConfigError, errorCode, errorMessage } from '../errors.js';
import { ConfigCode } from './codes.js';
import type { ConfigEnv } from './values.js';

/** The text of a configuration file; ConfigError (exit code 2) when it cannot be read. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = errorCode(err);
    const why =
      code === 'ENOENT'
        ? 'no such file (check the path given with -C)'
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied (it must be readable by ${currentEnv().username})`
          : code === 'EISDIR'
            ? 'is a directory, not a file (give the path of the .ini file with -C)'
            : errorMessage(err);
    throw new ConfigError(ConfigCode.UNREADABLE, file, `cannot read the configuration file: ${why}`);
  }
}

/** True when `path` is an existing regular file (following symlinks). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** HOME (as a shell expands ~) and the name of the user running us. */
export function currentEnv(): ConfigEnv {
  let username = process.env['USER'] ?? process.env['LOGNAME'] ?? '';
  try {
    username = userInfo().username; // the real user even under `env -i`/sudo quirks
  } catch {
    // no passwd entry (some containers): keep USER
  }
  return { home: process.env['HOME'] || homedir(), username };
}

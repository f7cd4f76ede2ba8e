/** The version cmd_standby reports (--version): the standby package's. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Version from packages/standby/package.json (the same as cmd_archiver's: one release). */
export function standbyVersion(): string {
  return (JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
}

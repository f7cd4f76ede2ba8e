/** The version both binaries report: the archiver package's. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Version from packages/archiver/package.json. */
export function archiverVersion(): string {
  return (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
}

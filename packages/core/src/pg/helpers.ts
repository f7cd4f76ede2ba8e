/**
 * The SQL helper functions on the master (sql/cmd_standby.sql): where the file is, whether they
 * are installed and current, and installing them through any PgSession (local socket or tunnel).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PitrError } from '../errors.js';
import type { PgSession } from './client.js';

/** The helper version this build expects (cmd_helpers_version() in sql/cmd_standby.sql). */
export const HELPERS_VERSION = 3;

// This file is in packages/core/dist/pg/ in a checkout, in node_modules/@pitrtools/core/dist/pg/
// of an installed copy, whose sql/ is the top-level package's (the root package.json's files).
/** Absolute path of sql/cmd_standby.sql in this installation. */
export const HELPERS_SQL_PATH =
  ['../../../../sql/cmd_standby.sql', '../../../../../sql/cmd_standby.sql']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((p) => existsSync(p)) ?? fileURLToPath(new URL('../../../../sql/cmd_standby.sql', import.meta.url));

/**
 * Installed helper version, or undefined when the helpers are missing. One round trip (over a
 * long path each costs one: -B and --check start with this): the function is called, and
 * PostgreSQL's undefined_function (42883) means it is not there. Throws PG_QUERY_FAILED otherwise.
 */
export async function installedHelpersVersion(s: PgSession): Promise<number | undefined> {
  try {
    return Number(await s.scalar('SELECT cmd_helpers_version()'));
  } catch (err) {
    // client.ts's sqlState(), read here without loading pg with it (a type-only import).
    if ((err as { sqlState?: unknown }).sqlState === '42883') return undefined;
    throw err;
  }
}

/** Throws HELPERS_MISSING (with the file and the commands that install them) unless current helpers exist. */
export async function requireHelpers(s: PgSession, where: string): Promise<void> {
  const v = await installedHelpersVersion(s);
  if (v !== undefined && v >= HELPERS_VERSION) return;
  throw helpersMissing(v, where);
}

function helpersMissing(v: number | undefined, where: string): PitrError {
  const what = v === undefined ? 'are not installed' : `are version ${v}, this pitrtools needs ${HELPERS_VERSION}`;
  return new PitrError('HELPERS_MISSING', `the pitrtools helper functions on ${where} ${what}`, {
    hint: `install them with: cmd_standby -C <ini> --install-helpers   (or on the master: psql -f ${HELPERS_SQL_PATH} postgres)`,
  });
}

/**
 * requireHelpers() and a first question in one round trip: `query` calls the helpers and selects
 * cmd_helpers_version() AS helpers_version. Its rows; throws HELPERS_MISSING as requireHelpers
 * does when the helpers are missing or older than HELPERS_VERSION (when the query fails in
 * PostgreSQL, the check runs and says which), else what the query throws.
 */
export async function queryWithHelpers<T extends { helpers_version: unknown }>(s: PgSession, where: string, query: () => Promise<T[]>): Promise<T[]> {
  let rows: T[];
  try {
    rows = await query();
  } catch (err) {
    // Missing helpers fail with undefined_function (42883), older ones may fail otherwise
    // (undefined_column ...): the check says which, else the query's own error stands.
    if ((err as { sqlState?: unknown }).sqlState !== undefined) await requireHelpers(s, where);
    throw err;
  }
  const v = Number(rows[0]?.helpers_version);
  if (!(v >= HELPERS_VERSION)) throw helpersMissing(Number.isFinite(v) ? v : undefined, where);
  return rows;
}

/** Runs sql/cmd_standby.sql in the session's database; returns the installed version. */
export async function installHelpers(s: PgSession): Promise<number> {
  const sql = await readFile(HELPERS_SQL_PATH, 'utf8');
  await s.query(sql);
  return Number(await s.scalar('SELECT cmd_helpers_version()'));
}

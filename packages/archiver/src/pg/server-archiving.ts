/**
 * Whether the local server archives with this ini, asked from the running server: its recovery
 * state and archiving settings, judged by archiving-verdict.ts. For --status (inside its session)
 * and --check (its own short session).
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { ArchiverConfig } from '@pitrtools/core/config/config-types';
import { withPg, type PgSession } from '@pitrtools/core/pg/client';
import { localServer, localSessionOptions } from '@pitrtools/core/pg/local-server';
import { archiveCommandIni, judgeArchiving, type Archiving, type ArchivingFacts } from './archiving-verdict.js';

/** The facts and the verdict, as --json prints them under `master` (--status) or `server` (--check). */
export interface ServerArchiving {
  inRecovery: boolean;
  archiving: Archiving;
  archiveMode: string;
  archiveCommand: string;
  archiveLibrary: string;
  /** Reason and fix, unless archiving is `cmd_archiver`. */
  problem?: string;
}

/** True when `arg` (relative to pgdata, as PostgreSQL runs archive_command) is the ini file itself or a link to it. */
async function namesIni(arg: string, pgdata: string, ini: string): Promise<boolean> {
  const a = resolve(pgdata, arg);
  if (a === resolve(ini)) return true;
  const real = (p: string): Promise<string | undefined> => fsp.realpath(p).catch(() => undefined);
  const [x, y] = await Promise.all([real(a), real(ini)]);
  return x !== undefined && x === y;
}

/** Asks `pg` (the server of config.pgdata) and judges; `command` names the action in the problem text. Throws what the queries throw. */
export async function readServerArchiving(pg: PgSession, config: ArchiverConfig, command: string): Promise<ServerArchiving> {
  const inRecovery = (await pg.scalar<boolean>('SELECT pg_is_in_recovery()')) === true;
  const rows = await pg.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [
    ['archive_mode', 'archive_command', 'archive_library'],
  ]);
  const get = (n: string): string => rows.find((r) => r.name === n)?.setting ?? '';
  const ini = archiveCommandIni(get('archive_command'));
  const facts: ArchivingFacts = {
    inRecovery,
    archiveMode: get('archive_mode') || 'off',
    archiveLibrary: get('archive_library'),
    archiveCommand: get('archive_command'),
    commandIsOurs: ini !== undefined && (await namesIni(ini, config.pgdata, config.file)),
  };
  const v = judgeArchiving(facts, config.file, command);
  return {
    inRecovery,
    archiving: v.archiving,
    archiveMode: facts.archiveMode,
    archiveCommand: facts.archiveCommand,
    archiveLibrary: facts.archiveLibrary,
    ...(v.problem !== undefined ? { problem: v.problem } : {}),
  };
}

/** The same from a session of its own (5 s to connect); undefined when the server is not running or does not answer. */
export async function localServerArchiving(config: ArchiverConfig, command: string): Promise<ServerArchiving | undefined> {
  const server = await localServer(config.pgdata).catch(() => undefined);
  if (!server?.running || server.port === undefined) return undefined;
  return withPg(localSessionOptions(server, server.port, `cmd_archiver ${command}`), (pg) => readServerArchiving(pg, config, command)).catch(() => undefined);
}

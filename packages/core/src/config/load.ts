/** Loading a configuration file: read it (io.ts), then check it (validate.ts). */
import type { ArchiverConfig, LoadedConfig, StandbyConfig } from './config-types.js';
import { currentEnv, readConfigText } from './io.js';
import type { Role } from './schema.js';
import { parseConfig } from './validate.js';
import type { ConfigEnv } from './values.js';

/** What loadConfig may be told instead of asking the machine. */
export interface LoadOptions {
  env?: ConfigEnv;
}

/** Reads and checks a configuration file; throws ConfigError (exit code 2) naming file, line and key. */
export function loadConfig(file: string, role: 'archiver', opts?: LoadOptions): LoadedConfig<ArchiverConfig>;
export function loadConfig(file: string, role: 'standby', opts?: LoadOptions): LoadedConfig<StandbyConfig>;
export function loadConfig(file: string, role: Role, opts?: LoadOptions): LoadedConfig<ArchiverConfig | StandbyConfig>;
export function loadConfig(file: string, role: Role, opts: LoadOptions = {}): LoadedConfig<ArchiverConfig | StandbyConfig> {
  return parseConfig(readConfigText(file), file, role, opts.env ?? currentEnv());
}

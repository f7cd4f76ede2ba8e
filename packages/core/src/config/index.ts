/** The configuration layer: ini parsing, the typed schema of both files, loading and samples. */
export { ConfigCode } from './codes.js';
export type { ArchiverConfig, ConfigFor, ConfigOrigin, LoadedConfig, PerSlaveKey, SlaveSection, StandbyConfig } from './config-types.js';
export { ARCHIVER_KEYS } from './archiver-schema.js';
export { STANDBY_KEYS } from './standby-schema.js';
export { defaultLabel, describeKey, displayConfig, legacyLabel, listSchema, secretValues, typeLabel } from './describe.js';
export { DEFAULT_SECTION, parseIni, type IniDocument, type IniEntry, type IniSection } from './ini.js';
export { interpolatedValue, MAX_INTERPOLATION_DEPTH } from './interpolate.js';
export { currentEnv } from './io.js';
export { loadConfig, type LoadOptions } from './load.js';
export { renderSample } from './render-sample.js';
export { renderKeyTables } from './render-docs.js';
export { roleSchema, type RoleSchema } from './roles.js';
export type { KeySpec, Legacy, Notice, Role, ValueType } from './schema.js';
export { parseSlaveEntry, slaveQueueName, type SlaveEntry } from './slaves.js';
export { resolveMaster, resolveSlaves, type SlaveTarget, type SshTarget } from './ssh-targets.js';
export { parseTablespaceMapping, type TablespaceMapping } from './tablespace-mapping.js';
export { parseConfig } from './validate.js';
export { parseBool, parseBytes, parseSeconds, type ConfigEnv } from './values.js';

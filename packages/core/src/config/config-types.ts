/** The typed result of loading a configuration file. */
import type { ARCHIVER_KEYS } from './archiver-schema.js';
import type { ConfigValues, Notice, Role } from './schema.js';
import type { STANDBY_KEYS } from './standby-schema.js';

/** Where the values came from, so that later errors can point at a line. */
export interface ConfigOrigin {
  /** The file as it was named (-C). */
  file: string;
  /** Line on which each key was set in [DEFAULT]; keys left at their default are absent. */
  sources: Record<string, number>;
}

/** The keys a per-slave section of cmd_archiver.ini may override. */
export type PerSlaveKey = Extract<(typeof ARCHIVER_KEYS)[number], { perSlave: true }>['name'];

/** A `[entry]` section of cmd_archiver.ini, with its keys resolved as read through it. */
export interface SlaveSection {
  /** The entry of `slaves` the section is named after. */
  entry: string;
  line: number;
  /** Every per-slave key as seen from this section (its own value, else DEFAULT's). */
  values: Pick<ArchiverConfig, PerSlaveKey>;
  /** Lines of the keys set in the section itself. */
  sources: Record<string, number>;
}

/** cmd_archiver.ini; property names are the ini keys. Seconds are in seconds, bytes null = unlimited. */
export interface ArchiverConfig extends ConfigValues<typeof ARCHIVER_KEYS>, ConfigOrigin {
  /** Per-slave sections by entry name. */
  sections: Record<string, SlaveSection>;
}

/** cmd_standby.ini; property names are the ini keys. Seconds are in seconds, bytes null = unlimited. */
export interface StandbyConfig extends ConfigValues<typeof STANDBY_KEYS>, ConfigOrigin {}

/** The config type of a role. */
export type ConfigFor<R extends Role> = R extends 'archiver' ? ArchiverConfig : StandbyConfig;

/** A loaded file: its values and what the user should hear about it. */
export interface LoadedConfig<C> {
  config: C;
  notices: Notice[];
}

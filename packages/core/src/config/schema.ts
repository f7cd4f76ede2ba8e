/**
 * The typed description of an ini key. Each role's keys live in their own file
 * (archiver-schema.ts, standby-schema.ts); adding a key means adding one KeySpec there:
 * the loader, the typed config, the samples, --help and the docs all follow from it.
 */

/** Which program a configuration file belongs to. */
export type Role = 'archiver' | 'standby';

/** How a key's text is read; see values.ts for the accepted spellings. */
export type ValueType =
  | 'string'
  | 'path' //     absolute path, `~/` expanded
  | 'paths' //    list of absolute paths (separator: ',' unless the spec says otherwise)
  | 'bool' //     on/off yes/no true/false 1/0
  | 'int' //      plain decimal
  | 'bytes' //    16MB, 1GB, unlimited; null = no limit
  | 'seconds' //  10, 30s, 2min, 1h; held in seconds (fractional for ms)
  | 'list' //     comma-separated, blanks trimmed, empties dropped
  | 'enum'
  | 'command'; // kept as a string; the alert runner splits it into words

/** A key kept only so that existing files load: either without effect, or with a remark. */
export type Legacy =
  | {
      readonly kind: 'ignored';
      /** Completes "key X has no effect since ...", e.g. 'PostgreSQL 12'; absent if it never had one. */
      readonly since?: string;
      readonly reason: string;
      /** 'warning' when a user must act (default: a debug notice). */
      readonly level?: 'debug' | 'warning';
      /** Returns a warning when this particular value needs the user's attention. */
      readonly warn?: (value: string) => string | undefined;
    }
  | { readonly kind: 'note'; readonly note: string };

/** A default that is not a constant: another key's value, or the current OS user. */
export type DynamicDefault = { readonly key: string } | { readonly env: 'username' };

/** What a check on a parsed value found: an error stops loading, a warning becomes a notice. */
export type CheckResult = { readonly error: string } | { readonly warning: string } | undefined;

/** One key of an ini file. */
export interface KeySpec {
  /** The ini spelling (snake_case, as existing files have it). */
  readonly name: string;
  readonly type: ValueType;
  /** One or two sentences for people; samples, --help and docs are generated from it. */
  readonly doc: string;
  /** Heading under which the key appears in the sample. */
  readonly group: string;
  /** The default, written as ini text and parsed like a value from the file. */
  readonly default?: string;
  readonly defaultFrom?: DynamicDefault;
  /** How to show a dynamic default to people, e.g. 'the current OS user'. */
  readonly defaultText?: string;
  readonly required?: boolean;
  /** Allowed values of an enum (lower case). */
  readonly values?: readonly string[];
  /** Bounds of int, seconds (in seconds) and bytes (in bytes) keys. */
  readonly min?: number;
  readonly max?: number;
  /** Never printed: not in samples, debug dumps or --help output. */
  readonly secret?: boolean;
  /** A realistic value for samples and error messages. */
  readonly example?: string;
  /** Item separator of list and paths keys (default ','). */
  readonly separator?: ',' | ':';
  /** cmd_archiver only: may be overridden in a per-slave section. */
  readonly perSlave?: boolean;
  readonly legacy?: Legacy;
  /** Extra validation of the parsed value. */
  readonly check?: (value: never) => CheckResult;
}

/** The TypeScript type a ValueType is parsed into. */
type BaseValue<S> = S extends { type: 'enum'; values: readonly (infer V)[] }
  ? V
  : S extends { type: 'bool' }
    ? boolean
    : S extends { type: 'int' | 'seconds' }
      ? number
      : S extends { type: 'bytes' }
        ? number | null
        : S extends { type: 'list' | 'paths' }
          ? string[]
          : string;

/** Keys that always have a value after loading: required, or with a default. */
type Value<S> = S extends { required: true } | { default: string } | { defaultFrom: DynamicDefault } ? BaseValue<S> : BaseValue<S> | undefined;

/** The typed values of a key list; keys that have no effect are left out. */
export type ConfigValues<Specs extends readonly KeySpec[]> = {
  -readonly [S in Specs[number] as S extends { legacy: { kind: 'ignored' } } ? never : S['name']]: Value<S>;
};

/** A message for the user produced while loading; the binary decides whether to show it. */
export interface Notice {
  readonly level: 'debug' | 'warning';
  readonly message: string;
  /** Set for a key that no longer has an effect: a program may report it once (at set-up) rather than on every run. */
  readonly ignoredKey?: string;
}

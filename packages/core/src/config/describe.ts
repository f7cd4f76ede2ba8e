/** The schema for people: --help, docs, debug dumps. Secrets never leave through here. */
import type { ArchiverConfig, StandbyConfig } from './config-types.js';
import { roleSchema } from './roles.js';
import type { KeySpec, Role } from './schema.js';

/** Every key of a role's file, in sample order. */
export function listSchema(role: Role): readonly KeySpec[] {
  return roleSchema(role).keys;
}

/** How a key's value is written, e.g. "duration (e.g. 10, 30s, 2min, 1h)". */
export function typeLabel(spec: KeySpec): string {
  const range = spec.min !== undefined && spec.max !== undefined ? ` ${spec.min}-${spec.max}` : '';
  switch (spec.type) {
    case 'string':
      return 'text';
    case 'command':
      return 'command line';
    case 'path':
      return 'absolute path';
    case 'paths':
      return `${spec.separator === ':' ? 'colon' : 'comma'}-separated absolute paths`;
    case 'bool':
      return 'on/off';
    case 'int':
      return `whole number${range}`;
    case 'bytes':
      return 'size (e.g. 512kB, 16MB, 1GB, or unlimited)';
    case 'seconds':
      return 'duration (e.g. 10, 30s, 2min, 1h)';
    case 'list':
      return 'comma-separated list';
    case 'enum':
      return (spec.values ?? []).join(' | ');
  }
}

/** The default as people should read it: the ini text, a description, or "required". */
export function defaultLabel(spec: KeySpec): string {
  if (spec.required) return 'required';
  return spec.defaultText ?? spec.default ?? 'not set';
}

/** What a legacy key does now, in one sentence; undefined for ordinary keys. */
export function legacyLabel(spec: KeySpec): string | undefined {
  if (spec.legacy === undefined) return undefined;
  if (spec.legacy.kind === 'note') return `${spec.legacy.note}.`;
  return `No effect${spec.legacy.since !== undefined ? ` since ${spec.legacy.since}` : ''}: ${spec.legacy.reason}.`;
}

/** A paragraph about one key for --help and docs; undefined when the role has no such key. */
export function describeKey(role: Role, key: string): string | undefined {
  const spec = listSchema(role).find((k) => k.name === key.trim().toLowerCase());
  if (!spec) return undefined;
  const head = `${spec.name}: ${typeLabel(spec)}; ${spec.required ? 'required' : `default: ${defaultLabel(spec)}`}`;
  const perSlave = role === 'archiver' && spec.perSlave ? ' Can be set per slave.' : '';
  const legacy = legacyLabel(spec);
  return `${head}\n  ${spec.doc}${perSlave}${legacy !== undefined ? ` ${legacy}` : ''}`;
}

/** Values of the secret keys that are set, for the logger's redaction list. */
export function secretValues(role: Role, config: ArchiverConfig | StandbyConfig): string[] {
  const c = config as unknown as Record<string, unknown>;
  return listSchema(role)
    .filter((k) => k.secret && typeof c[k.name] === 'string' && c[k.name] !== '')
    .map((k) => c[k.name] as string);
}

/** `key = value` lines of a loaded config for --debug output, secrets masked. */
export function displayConfig(role: Role, config: ArchiverConfig | StandbyConfig): string[] {
  const c = config as unknown as Record<string, unknown>;
  return listSchema(role)
    .filter((k) => k.legacy?.kind !== 'ignored')
    .map((k) => {
      const v = c[k.name];
      const shown = k.secret && v !== undefined ? '********' : v === undefined ? '(not set)' : JSON.stringify(v);
      return `${k.name} = ${shown}${config.sources[k.name] !== undefined ? ` (line ${config.sources[k.name]})` : ''}`;
    });
}

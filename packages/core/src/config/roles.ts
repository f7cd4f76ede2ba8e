/** The two kinds of configuration file and what distinguishes them. */
import { ARCHIVER_KEYS } from './archiver-schema.js';
import type { KeySpec, Role } from './schema.js';
import { STANDBY_KEYS } from './standby-schema.js';

/** Everything the loader, --help and the samples need to know about one role's file. */
export interface RoleSchema {
  readonly role: Role;
  /** cmd_archiver or cmd_standby. */
  readonly program: string;
  /** The usual file name, for messages. */
  readonly fileName: string;
  readonly keys: readonly KeySpec[];
  /**
   * Thresholds that must not decrease along each list (a warning before the critical alert,
   * the critical alert before the queue is dropped); null (unlimited) is never compared.
   */
  readonly ordered: readonly (readonly string[])[];
}

const SCHEMAS: Record<Role, RoleSchema> = {
  archiver: {
    role: 'archiver',
    program: 'cmd_archiver',
    fileName: 'cmd_archiver.ini',
    keys: ARCHIVER_KEYS,
    ordered: [
      ['queue_warn_bytes', 'queue_critical_bytes', 'queue_max_bytes'],
      ['check_queue_warn_age', 'check_queue_critical_age'],
    ],
  },
  standby: {
    role: 'standby',
    program: 'cmd_standby',
    fileName: 'cmd_standby.ini',
    keys: STANDBY_KEYS,
    ordered: [
      ['check_lag_warn_bytes', 'check_lag_critical_bytes'],
      ['check_lag_warn_seconds', 'check_lag_critical_seconds'],
    ],
  },
};

/** The schema of one role. */
export function roleSchema(role: Role): RoleSchema {
  return SCHEMAS[role];
}

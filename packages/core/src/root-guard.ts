/** Refusing root: initdb and postgres refuse it, and files we create must belong to the database's user. */
import { PitrError } from './errors.js';

/** Throws RUNNING_AS_ROOT (exit 2) when the effective uid is 0. */
export function assertNotRoot(program: string, uid: number | undefined = process.geteuid?.()): void {
  if (uid === 0) {
    throw new PitrError('RUNNING_AS_ROOT', `${program} must not run as root; run it as the database's owner (e.g. su - postgres)`, {});
  }
}

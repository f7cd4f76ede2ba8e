/**
 * Ties callback operations to the life of a connection or channel. ssh2 silently drops a
 * request sent on a channel that is already closed, and its callback never runs: without
 * this guard an SFTP write after a disconnect would wait forever.
 */
import type { SshError } from './errors.js';

/** Tracks whether a connection/channel is still usable and fails pending calls when it dies. */
export class Liveness {
  private dead: SshError | undefined;
  private readonly waiters = new Set<(e: SshError) => void>();
  private readonly children = new Set<Liveness>();

  /** The error the connection died with, or undefined while it lives. */
  get error(): SshError | undefined {
    return this.dead;
  }

  /** A guard that dies with this one (and may also die alone, e.g. one SFTP channel). */
  child(): Liveness {
    const c = new Liveness();
    if (this.dead) c.kill(this.dead);
    else this.children.add(c);
    return c;
  }

  /** Marks the connection dead: every pending and later call fails with `err`. */
  kill(err: SshError): void {
    if (this.dead) return;
    this.dead = err;
    for (const w of this.waiters) w(err);
    this.waiters.clear();
    for (const c of this.children) c.kill(err);
    this.children.clear();
  }

  /** Runs a callback-style operation; rejects at once if the connection is or becomes dead. */
  call<T>(start: (cb: (err: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.dead) {
        reject(this.dead);
        return;
      }
      let settled = false;
      const onDead = (e: SshError): void => {
        if (!settled) {
          settled = true;
          reject(e);
        }
      };
      this.waiters.add(onDead);
      const cb = (err: unknown, value?: T): void => {
        this.waiters.delete(onDead);
        if (settled) return;
        settled = true;
        // "No response from server" after a drop says less than the disconnect itself.
        if (err) reject(this.dead ?? err);
        else resolve(value as T);
      };
      try {
        start(cb);
      } catch (err) {
        cb(err);
      }
    });
  }
}

/**
 * Proof markers: `l_archivedir/.archived/NAME`, written by cmd_queue once every slave has a safe
 * outcome for that very file (fsynced on the slave, or fsynced in its queue). The sh front end
 * of cmd_archiver exits 0 on a marker without starting Node.js, so a marker must never claim
 * more than is true. What it proves: this file identity was shipped ONCE, under this ini
 * identity, to every slave or its queue — not that the copy is still there now (a cleanup, a
 * drain or a dropped queue may have removed it since). The front end's exit 0 is its only
 * reader, and archive_command's promise is exactly "shipped once"; nothing may read it as more.
 * Written only when:
 *
 * - line 1 is the identity of the pg_wal file (file-identity.ts) taken before it was shipped,
 *   and the marker is written only if the file still has it afterwards: the bytes shipped are
 *   the bytes of the file the client names;
 * - line 2 is the identity of the ini as this daemon loaded it, re-checked before each write: an
 *   edited ini (offline, another slave, another directory) invalidates every marker at once;
 * - outcomes the promise does not cover for every slave (conflict, failure, a detached slave
 *   that did not get it, a queue just dropped) get no marker, only a `NAME.ask` hint that tells
 *   cmd_archiver to stop waiting and do the job itself (its answer is the one reported).
 *
 * Markers are written with temp + rename and not fsynced: a marker lost in a crash only means
 * the slow path. The directory is 0700 and checked by the front end; `.off` in it says this
 * daemon writes no markers (the front end then does not wait for one). Markers of segments
 * PostgreSQL has marked .done are removed; the next daemon starts from an empty directory.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, PitrError, errorMessage } from '@pitrtools/core/errors';
import { CREATE_NEW, linkRefused, requireOwnDir, writeOwnFile } from '@pitrtools/core/fs/ownership';
import type { Logger } from '@pitrtools/core/log';
import { fileIdentity } from './file-identity.js';

/** The marker directory inside l_archivedir. */
export const MARKER_DIR = '.archived';
/** Present when the running cmd_queue writes no markers. */
export const MARKERS_OFF = '.off';
/** Suffix of the hint "worked out, no marker coming: do the job yourself". */
export const ASK_SUFFIX = '.ask';

/** How the markers of one daemon are written. */
export interface MarkerOptions {
  lArchivedir: string;
  /** Identity line of the ini taken before it was loaded; undefined turns markers off. */
  iniIdentity: string | undefined;
  /** Why markers are off (state offline, the ini is a symbolic link, ...), if they are. */
  off?: string;
  /** Re-checks that the ini is still the one loaded (and stops the daemon when it is not). */
  iniUnchanged(): Promise<boolean>;
  log: Logger;
}

/** Writes and removes the proof markers of one cmd_queue. */
export class ProofMarkers {
  readonly dir: string;
  private readonly touched = new Map<string, number>();
  private enabled: boolean;
  /** Markers written so far (for the log and tests). */
  written = 0;

  constructor(private readonly o: MarkerOptions) {
    this.dir = join(o.lArchivedir, MARKER_DIR);
    this.enabled = o.iniIdentity !== undefined && o.off === undefined;
  }

  /** Whether markers are written at all. */
  get on(): boolean {
    return this.enabled;
  }

  /**
   * Creates the directory (0700), removes what an earlier daemon left, and records whether markers
   * are off. Throws PitrError DIR_NOT_PRIVATE / SYMLINK_REFUSED (exit 2) when the directory is a
   * link or not ours, or `.off` is a link; other failures only turn markers off.
   */
  async open(): Promise<void> {
    try {
      await fsp.mkdir(this.dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const st = await fsp.lstat(this.dir);
      // Ours but too open (an earlier version, a umask): we made it, so we tighten it.
      if (st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o077) !== 0) await fsp.chmod(this.dir, 0o700);
      await requireOwnDir(this.dir, 'the proof marker directory', `remove it; cmd_queue creates it again: rm -r ${this.dir}`);
      // .off first, so that no front end waits for this daemon while the rest goes.
      if (!this.enabled) await writeOwnFile(join(this.dir, MARKERS_OFF), `${this.o.off ?? 'the ini cannot be identified'}\n`);
      for (const n of await fsp.readdir(this.dir)) {
        if (!this.enabled && n === MARKERS_OFF) continue;
        await fsp.rm(join(this.dir, n), { force: true, recursive: true });
      }
    } catch (err) {
      if (err instanceof PitrError && err.exitCode === ExitCode.USAGE) throw err;
      this.enabled = false;
      this.o.log.warning(`proof markers off (every segment then starts Node.js): ${errorMessage(err)}`);
      return;
    }
    if (!this.enabled) this.o.log.info(`proof markers off: ${this.o.off ?? 'the ini cannot be identified (a symbolic link?)'}`);
  }

  /**
   * Writes the marker of `name` if the file at `path` still has the identity it was shipped
   * with and the ini is still the one loaded; true when written.
   */
  async prove(name: string, path: string, shippedIdentity: string): Promise<boolean> {
    if (!this.enabled) return false;
    const now = await fileIdentity(path);
    if (now?.line !== shippedIdentity || !now.regular) {
      this.o.log.debug(`${name}: no proof marker, the file changed while it was shipped`);
      return this.ask(name).then(() => false);
    }
    if (!(await this.o.iniUnchanged())) return false;
    const marker = join(this.dir, name);
    const tmp = join(this.dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeOwnFile(tmp, `${shippedIdentity}\n${this.o.iniIdentity}\n`, CREATE_NEW);
      // rename(2) would replace a link there without a word: refuse it instead.
      if ((await fsp.lstat(marker).catch(() => undefined))?.isSymbolicLink()) throw linkRefused(marker);
      await fsp.rename(tmp, marker);
      await fsp.rm(marker + ASK_SUFFIX, { force: true });
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      (err instanceof PitrError ? this.o.log.warning : this.o.log.debug)(`${name}: cannot write its proof marker: ${errorMessage(err)}`);
      return false;
    }
    this.touched.set(name, Date.now());
    this.written++;
    return true;
  }

  /** Leaves the hint that no marker is coming for `name` (cmd_archiver then does the job itself at once). */
  async ask(name: string): Promise<void> {
    if (!this.enabled) return;
    await writeOwnFile(join(this.dir, name + ASK_SUFFIX), '').catch((err: unknown) => {
      if (err instanceof PitrError) this.o.log.warning(`${name}: ${err.message}`);
    });
    this.touched.set(name, Date.now());
  }

  /** Removes markers and hints of names `archived` says are no longer .ready, written before the scan that says so started. */
  async forget(archived: (name: string) => boolean, scannedAt: number): Promise<void> {
    for (const [name, at] of this.touched) {
      if (!archived(name) || at >= scannedAt) continue;
      this.touched.delete(name);
      await fsp.rm(join(this.dir, name), { force: true }).catch(() => undefined);
      await fsp.rm(join(this.dir, name + ASK_SUFFIX), { force: true }).catch(() => undefined);
    }
  }
}

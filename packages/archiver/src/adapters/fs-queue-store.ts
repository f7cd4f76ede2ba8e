/**
 * The queues on disk: l_archivedir/<slave>/ holds queued segments under their own names (an
 * operator sees what waits), the NEEDS_BASE_BACKUP marker, and dot-named claim files. Segments
 * are placed with copyFileNoClobber (temp, fsync, link, directory fsync), so a queued segment is
 * durable before cmd_archiver reports success.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, PitrError, errorCode } from '@pitrtools/core/errors';
import { copyFileNoClobber, fsyncDir } from '@pitrtools/core/fs/atomic';
import { checkOwnDir, linkRefused, readOwnFile, refusedLink } from '@pitrtools/core/fs/ownership';
import { compareWalNames, isWalName } from '@pitrtools/core/wal';
import { DETACHED_MARKER } from '../archive/claims.js';
import type { PlaceStatus, QueuedFile, QueueScan, QueueStore } from '../archive/ports.js';

const ignoreMissing = (err: unknown): undefined => {
  if (errorCode(err) === 'ENOENT') return undefined;
  throw err;
};

const what = (scope: string): string => (scope === '' ? 'l_archivedir' : `the queue of slave ${scope}`);

/**
 * Checks l_archivedir and the queues of `slaves` that exist (checkOwnDir: ours, a directory, not
 * writable by group or others); throws DIR_NOT_PRIVATE (exit 2). One lstat per directory.
 */
export async function checkQueueDirs(root: string, slaves: readonly string[]): Promise<void> {
  if (!(await checkOwnDir(root, what('')))) return;
  for (const s of slaves) await checkOwnDir(join(root, s), what(s));
}

/** A QueueStore over the directory `root` (l_archivedir). */
export function fsQueueStore(root: string): QueueStore {
  const dirOf = (scope: string): string => (scope === '' ? root : join(root, scope));
  // Directories found fine by this store; scan() checks again (cmd_queue scans every queue_wait).
  const ours = new Set<string>();
  const checkDir = async (scope: string, again = false): Promise<boolean> => {
    if (!again && ours.has(scope)) return true;
    const ok = await checkOwnDir(dirOf(scope), what(scope));
    if (ok) ours.add(scope);
    return ok;
  };

  // A slave added to the ini after -I gets its queue on first need; l_archivedir itself must exist.
  const ensureDir = async (scope: string): Promise<string> => {
    const dir = dirOf(scope);
    await checkDir(''); // missing: said below, or by the caller
    if (scope === '') return dir;
    try {
      await fsp.mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if (errorCode(err) === 'EEXIST') {
        await checkDir(scope);
        // An earlier run may have made it and failed at the fsync below: do that fsync again.
        await fsyncDir(root);
        return dir;
      }
      if (errorCode(err) === 'ENOENT') {
        throw new PitrError('QUEUE_MISSING', `l_archivedir ${root} does not exist`, {
          exitCode: ExitCode.FAILED, hint: 'create it with: cmd_archiver -C <ini> -I',
        });
      }
      throw err;
    }
    await fsyncDir(root);
    ours.add(scope);
    return dir;
  };

  return {
    root,
    path: (slave, name) => join(dirOf(slave), name),

    async scan(slave): Promise<QueueScan> {
      const dir = dirOf(slave);
      await checkDir(slave, true);
      const names = (await fsp.readdir(dir).catch(ignoreMissing)) ?? [];
      const files: QueuedFile[] = [];
      const claims = new Set<string>();
      let detached: string | undefined;
      for (const name of names) {
        if (isWalName(name)) {
          const st = await fsp.stat(join(dir, name)).catch(ignoreMissing);
          if (st?.isFile()) files.push({ name, size: st.size, mtimeMs: st.mtimeMs });
        } else if (name === DETACHED_MARKER) {
          detached = (await readOwnFile(join(dir, name)).catch(ignoreMissing)) ?? '';
        } else if (name.startsWith('.') && !name.endsWith('.tmp')) {
          claims.add(name);
        }
      }
      files.sort((a, b) => compareWalNames(a.name, b.name));
      return { files, detached, claims };
    },

    async enqueue(slave, src, name): Promise<PlaceStatus> {
      return copyFileNoClobber(src, await ensureDir(slave), name);
    },

    async remove(slave, name) {
      await fsp.rm(join(dirOf(slave), name), { force: true });
    },

    async drop(slave, marker) {
      const dir = await ensureDir(slave);
      const tmp = join(dir, `.${DETACHED_MARKER}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      let created = true;
      try {
        const fh = await fsp.open(tmp, 'wx', 0o600);
        try { await fh.writeFile(marker); await fh.sync(); } finally { await fh.close(); }
        await fsp.link(tmp, join(dir, DETACHED_MARKER));
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
        created = false;
      } finally {
        await fsp.rm(tmp, { force: true });
      }
      await fsyncDir(dir);
      let n = 0;
      for (const name of await fsp.readdir(dir)) {
        if (!isWalName(name)) continue;
        await fsp.rm(join(dir, name), { force: true });
        n++;
      }
      await fsyncDir(dir);
      return { created, deleted: n };
    },

    async resetMarker(slave) {
      try {
        await fsp.unlink(join(dirOf(slave), DETACHED_MARKER));
      } catch (err) {
        if (errorCode(err) === 'ENOENT') return false;
        throw err;
      }
      await fsyncDir(dirOf(slave));
      return true;
    },

    // Temp file + link(2): the claim appears complete with its content, or not at all.
    async claim(scope, claim, content) {
      const dir = await ensureDir(scope);
      const tmp = join(dir, `${claim}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      await fsp.writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
      try {
        await fsp.link(tmp, join(dir, claim));
        return true;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
        // Taken, by a claim file; a symbolic link there is nobody's claim: say so.
        if ((await fsp.lstat(join(dir, claim)).catch(() => undefined))?.isSymbolicLink()) throw linkRefused(join(dir, claim));
        return false;
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    },

    // rename(2) of the claim to a private name succeeds for exactly one caller.
    async release(scope, claim) {
      const dir = dirOf(scope);
      const mine = join(dir, `${claim}.released.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await fsp.rename(join(dir, claim), mine);
      } catch (err) {
        return ignoreMissing(err);
      }
      const text = await readOwnFile(mine).catch(() => '');
      await fsp.rm(mine, { force: true });
      for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
        if (name.startsWith(`${claim}.`) && /^\d+$/.test(name.slice(claim.length + 1))) await fsp.rm(join(dir, name), { force: true });
      }
      return text;
    },

    async append(scope, claim, text) {
      // No O_CREAT: appending must never start an episode nobody claimed.
      const path = join(dirOf(scope), claim);
      const fh = await fsp.open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW).catch((err: unknown) => ignoreMissing(refusedLink(path, err)));
      if (!fh) return;
      try { await fh.write(text); } finally { await fh.close(); }
    },

    async read(scope, claim) {
      return (await readOwnFile(join(dirOf(scope), claim)).catch(ignoreMissing)) ?? undefined;
    },
  };
}

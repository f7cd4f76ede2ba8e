/**
 * The queues on disk: l_archivedir/<slave>/ holds queued segments under their own names (an
 * operator sees what waits), the NEEDS_BASE_BACKUP marker, and dot-named claim files. Segments
 * are placed with copyFileNoClobber (temp, fsync, link, directory fsync), so a queued segment is
 * durable before cmd_archiver reports success.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { PitrError, errorCode } from '@pitrtools/core/errors';
import { copyFileNoClobber, fsyncDir } from '@pitrtools/core/fs/atomic';
import { checkOwnDir, linkRefused, readOwnFile, refusedLink } from '@pitrtools/core/fs/ownership';
import { compareWalNames, isWalName } from '@pitrtools/core/wal';
import { DETACHED_MARKER } from '../archive/claims.js';
import type { PlaceStatus, QueuedFile, QueueScan, QueueStore } from '../archive/ports.js';
import {
  changeQueue,
  EMPTY_SUMMARY,
  LOCK_FILE,
  lockIsStale,
  readSummary,
  rebuildSummary,
  sameSummary,
  summaryOf,
  SUMMARY_FILE,
  withQueueLock,
  type Summary,
} from './queue-summary.js';

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

/**
 * Throws QUEUE_MISSING (exit 1) unless l_archivedir `root` is a directory, with the words --check
 * uses for it and the -I that creates it (cmd_queue in the foreground, --daemon and --once alike).
 */
export async function requireQueueRoot(root: string, iniFile: string): Promise<void> {
  const isDir = await fsp.stat(root).then(
    (st) => st.isDirectory(),
    () => false,
  );
  if (!isDir) throw new PitrError('QUEUE_MISSING', `l_archivedir ${root} does not exist`, { hint: `create it with: cmd_archiver -C ${iniFile} -I` });
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
          hint: 'create it with: cmd_archiver -C <ini> -I',
        });
      }
      throw err;
    }
    await fsyncDir(root);
    ours.add(scope);
    return dir;
  };

  const exists = async (path: string): Promise<boolean> => (await fsp.lstat(path).catch(ignoreMissing)) !== undefined;
  // A missing queue directory is an empty queue: nothing to lock, nothing to change.
  const unlessMissing = async <T>(run: () => Promise<T>, otherwise: T): Promise<T> =>
    run().catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return otherwise;
      throw err;
    });
  const rebuild = (dir: string): Promise<Summary> => unlessMissing(() => withQueueLock(dir, () => rebuildSummary(dir)), EMPTY_SUMMARY);

  // The summary, trusted unless it is missing, names an oldest file that is gone (a manual change
  // of the queue), or a dead process left the lock (a crash between a file change and the
  // summary): then rebuilt from the directory. A constant number of system calls otherwise.
  const summary = async (dir: string): Promise<Summary> => {
    let s = await readSummary(dir);
    if (s?.oldest && !(await exists(join(dir, s.oldest.name)))) {
      const again = await readSummary(dir); // delivered meanwhile by another process?
      s = again?.oldest?.name === s.oldest.name ? undefined : again;
    }
    if (s && (await lockIsStale(dir))) s = undefined;
    return s ?? rebuild(dir);
  };

  return {
    root,
    path: (slave, name) => join(dirOf(slave), name),

    async look(slave, wanted) {
      const dir = dirOf(slave);
      // One lstat per process (cached): a queue directory others can write to is refused (exit 2).
      await checkDir(slave);
      const s = await summary(dir);
      const detached = (await readOwnFile(join(dir, DETACHED_MARKER)).catch(ignoreMissing)) ?? undefined;
      const claims = new Set<string>();
      for (const c of wanted) if (await exists(join(dir, c))) claims.add(c);
      return { count: s.count, bytes: s.bytes, detached, claims };
    },

    async scan(slave): Promise<QueueScan> {
      const dir = dirOf(slave);
      await checkDir(slave, true);
      const before = await readSummary(dir).catch(() => undefined);
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
        } else if (name.startsWith('.') && !name.endsWith('.tmp') && name !== SUMMARY_FILE && name !== LOCK_FILE) {
          claims.add(name);
        }
      }
      files.sort((a, b) => compareWalNames(a.name, b.name));
      // The listing is here anyway: when it disagrees with a summary nobody changed meanwhile
      // (files added or deleted by hand), the summary is rebuilt.
      if (before && !sameSummary(before, summaryOf(files))) {
        const after = await readSummary(dir).catch(() => undefined);
        if (after && JSON.stringify(after) === JSON.stringify(before)) await rebuild(dir);
      }
      return { files, detached, claims };
    },

    async enqueue(slave, src, name): Promise<PlaceStatus> {
      const dir = await ensureDir(slave);
      return changeQueue(dir, async (s) => {
        const status = await copyFileNoClobber(src, dir, name);
        if (status !== 'created') return { summary: s, result: status };
        const st = await fsp.lstat(join(dir, name));
        const f: QueuedFile = { name, size: st.size, mtimeMs: st.mtimeMs };
        const oldest = s.count === 0 || (s.oldest && compareWalNames(name, s.oldest.name) < 0) ? f : s.oldest;
        return { summary: { count: s.count + 1, bytes: s.bytes + f.size, oldest }, result: status };
      });
    },

    async remove(slave, name) {
      const dir = dirOf(slave);
      await unlessMissing(
        () =>
          changeQueue(dir, async (s) => {
            const path = join(dir, name);
            const st = await fsp.lstat(path).catch(ignoreMissing);
            if (!st || !(await fsp.unlink(path).then(() => true, ignoreMissing))) return { summary: s, result: undefined };
            const oldest = s.oldest?.name === name ? undefined : s.oldest;
            return { summary: { count: Math.max(0, s.count - 1), bytes: Math.max(0, s.bytes - st.size), oldest }, result: undefined };
          }),
        undefined,
      );
    },

    async drop(slave, marker) {
      const dir = await ensureDir(slave);
      const tmp = join(dir, `.${DETACHED_MARKER}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      let created = true;
      try {
        const fh = await fsp.open(tmp, 'wx', 0o600);
        try {
          await fh.writeFile(marker);
          await fh.sync();
        } finally {
          await fh.close();
        }
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
      // The summary from what is left (a crash before this leaves the slave detached, and the
      // summary is repaired by the next look that misses its oldest file, or the next listing).
      await rebuild(dir);
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
      const fh = await fsp
        .open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW)
        .catch((err: unknown) => ignoreMissing(refusedLink(path, err)));
      if (!fh) return;
      try {
        await fh.write(text);
      } finally {
        await fh.close();
      }
    },

    async read(scope, claim, maxBytes) {
      if (maxBytes === undefined) return (await readOwnFile(join(dirOf(scope), claim)).catch(ignoreMissing)) ?? undefined;
      const fh = await fsp.open(join(dirOf(scope), claim), constants.O_RDONLY | constants.O_NOFOLLOW).catch(ignoreMissing);
      if (!fh) return undefined;
      try {
        const buf = Buffer.alloc(maxBytes);
        const { bytesRead } = await fh.read(buf, 0, maxBytes, 0);
        return buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await fh.close();
      }
    },
  };
}

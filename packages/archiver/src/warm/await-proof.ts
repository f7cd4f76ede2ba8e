/**
 * The Node.js side of the warm path of cmd_archiver -F: wait for cmd_queue's proof marker of this
 * very file, as the sh front end (bin/cmd_archiver) does, and accept it by the same rules. It
 * replaced the unix socket over which cmd_archiver used to ask cmd_queue (issue 16): once proof
 * markers existed, the socket answered only what a marker answers as well (measured: 1 request a
 * burst, the first segment after cmd_queue started; the figures are in docs/performance.md), and
 * every other answer it gave (a conflict, a failure, offline) went through a second outcome
 * mapping. Now cmd_queue only ships and proves; every answer other than "archived" comes from
 * the standalone run, one path.
 *
 * The rules of a marker (keep in step with `proved()` in bin/cmd_archiver and with
 * daemon/proof-markers.ts): its line 1 equals the identity of the pg_wal file now, its line 2 the
 * identity of the ini now (file-identity.ts, `stat -c '%d %i %s %.9Y %.9Z'` without -L), the
 * marker directory is ours, not a link and mode 0700, and l_archivedir is ours, not a link and not
 * writable by group or others.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileIdentity } from '../daemon/file-identity.js';
import { isQueueProcess, runningDaemon } from '../daemon/pidfile.js';
import { ASK_SUFFIX, MARKER_DIR, MARKERS_OFF } from '../daemon/proof-markers.js';

/** What to wait for. Paths as the archive_command gave them (relative to the working directory, pgdata). */
export interface ProofWait {
  lArchivedir: string;
  /** The ini as archive_command names it. */
  ini: string;
  /** The pg_wal file (absolute, or relative to the working directory). */
  wal: string;
  /** Its WAL file name. */
  name: string;
  /** The cmd_queue expected to write the marker (pid; one it started that lost the pid file to another is followed to that one). */
  daemonPid: number;
  /** Give up after this long (ms). */
  deadlineMs: number;
  /** Between looks (ms); default 20. */
  pollMs?: number;
}

/** `proved` when the marker proves this file archived; else why not (the caller does the job itself). */
export type ProofAnswer = { proved: true } | { proved: false; reason: string };

async function owned(path: string): Promise<{ mode: number } | undefined> {
  const st = await fsp.lstat(path).catch(() => undefined);
  if (!st || st.isSymbolicLink() || !st.isDirectory() || st.uid !== process.geteuid?.()) return undefined;
  return { mode: st.mode & 0o777 };
}

/** Whether the marker of `w.name` exists and proves the file (the sh front end's rules); undefined when there is no marker. */
export async function markerProves(w: Pick<ProofWait, 'lArchivedir' | 'ini' | 'wal' | 'name'>): Promise<boolean | undefined> {
  const adir = join(w.lArchivedir, MARKER_DIR);
  const text = await fsp.readFile(join(adir, w.name), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : ''));
  if (text === undefined) return undefined;
  const [m1, m2] = text.split('\n');
  const a = await owned(adir);
  const l = await owned(w.lArchivedir.replace(/\/+$/, '') || '/');
  if (!a || a.mode !== 0o700 || !l || (l.mode & 0o022) !== 0) return false;
  const [wal, ini] = await Promise.all([fileIdentity(w.wal), fileIdentity(w.ini)]);
  return !!m1 && wal?.line === m1 && ini?.line === m2;
}

const exists = (p: string): Promise<boolean> =>
  fsp.lstat(p).then(
    () => true,
    () => false,
  );

/** Waits for the marker (or a sign that none is coming: `.ask`, `.off`, the daemon gone, the deadline). Never throws. */
export async function awaitProof(w: ProofWait): Promise<ProofAnswer> {
  const adir = join(w.lArchivedir, MARKER_DIR);
  const until = Date.now() + w.deadlineMs;
  let pid = w.daemonPid;
  for (;;) {
    const proves = await markerProves(w).catch(() => false);
    if (proves !== undefined) return proves ? { proved: true } : { proved: false, reason: `the proof marker of ${w.name} does not prove this file` };
    if (await exists(join(adir, w.name + ASK_SUFFIX))) return { proved: false, reason: `cmd_queue did not prove ${w.name} (${w.name}${ASK_SUFFIX})` };
    if (await exists(join(adir, MARKERS_OFF))) return { proved: false, reason: 'cmd_queue writes no proof markers' };
    if (!(await isQueueProcess(pid))) {
      const other = await runningDaemon(w.lArchivedir);
      if (other === undefined) return { proved: false, reason: `cmd_queue (pid ${pid}) is gone` };
      pid = other;
    }
    if (Date.now() > until) return { proved: false, reason: `no proof marker of ${w.name} within ${w.deadlineMs} ms` };
    await new Promise((r) => setTimeout(r, w.pollMs ?? 20));
  }
}

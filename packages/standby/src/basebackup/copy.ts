/**
 * The copy engine of -B, main-thread side: copy services (copy-service.ts; in worker threads,
 * copy-worker.ts, or on this thread with 2 cores or fewer), each with its own SSH connection and
 * SFTP streams, pull the jobs in small batches from a feed (the tree walk's
 * bounded queue, largest held job first). The engine is started early (its connections come up
 * while the master starts the backup) and runs the feeds it is given one after the other
 * (everything, then global/pg_control alone). Only jobs in flight are held here.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { MessageChannel, Worker } from 'node:worker_threads';
import { addTempDropper } from '@pitrtools/core/fs/temp-registry';
import type { SshTarget } from '@pitrtools/core/ssh/index';
import { fromWire, type FileOutcome, type FromWorker, type SenderInit, type ToWorker, type WireJob } from './copy-protocol.js';
import { serveCopy } from './copy-service.js';
import type { JobFeed } from './job-queue.js';
import type { FileJob } from './plan.js';

/** How many workers and streams. */
export interface EngineOptions {
  target: SshTarget;
  /** Parallel SFTP streams in all (rsync_threads). */
  streams: number;
  /** Worker threads (each one SSH connection) the streams are spread over. */
  workers: number;
  filesPerStream?: number;
  buffersPerStream?: number;
  /** Block re-sync through master_cmd_standby --send-files (block-sender.ts); absent: SFTP only. */
  sender?: SenderInit;
  /** Called once when the sender cannot start on the master (why), whatever the number of workers. */
  onNoSender?: (why: string) => void;
}

/** What one run needs besides the jobs. */
export interface RunOptions {
  /** Files modified at or after this master time (s) get mtime 0, so the next -B copies them again. */
  hotSince: number;
  onBytes?: (n: number) => void;
  onFile?: (job: FileJob, outcome: FileOutcome) => void | Promise<void>;
  /** Rejects when the backup must stop (its database session was lost). */
  abort?: Promise<never>;
}

/** Counts of a finished copy. */
export interface CopyResult {
  copied: number;
  bytes: number;
  same: number;
  vanished: number;
  /** Files copied through the block sender, their bytes, and the bytes it moved for them both ways. */
  senderFiles: number;
  senderBytes: number;
  wireBytes: number;
  /** Of senderFiles, those rebuilt against the standby's own copy (files both sides had). */
  resynced: number;
}

// Under tsx (the tests) this module runs from src/, but a worker thread cannot load TypeScript
// there: it runs the build (dist/), as the other packages' code does anyway.
function workerUrl(): URL {
  const url = new URL('./copy-worker.js', import.meta.url);
  return import.meta.url.endsWith('.ts') ? new URL(url.href.replace('/src/basebackup/', '/dist/basebackup/')) : url;
}

/**
 * A copy worker's young generation (MB): V8's default let it grow to ~43 MB of heap at 20 000
 * files, 15 MB with this, for the same copy time (measured with the bench's scaling part).
 */
const WORKER_YOUNG_MB = 4;

/** What the engine needs of a copy worker: a Worker, or the same service on this thread. */
interface CopyThread {
  postMessage(m: ToWorker): void;
  on(event: 'message', fn: (m: FromWorker) => void): unknown;
  once(event: 'exit', fn: () => void): unknown;
  once(event: 'error', fn: (e: Error) => void): unknown;
  off(event: 'exit', fn: () => void): unknown;
  off(event: 'error', fn: (e: Error) => void): unknown;
  terminate(): Promise<unknown>;
}

/** The copy service (copy-service.ts) on this thread, over a MessageChannel: the same messages as a Worker. */
class InThreadCopy extends EventEmitter implements CopyThread {
  private readonly ch = new MessageChannel();

  constructor() {
    super();
    serveCopy(this.ch.port1);
    this.ch.port2.on('message', (m: FromWorker) => this.emit('message', m));
    // Either end closing (finish, abort) closes both: the service is done, as a worker that exits.
    this.ch.port2.once('close', () => this.emit('exit'));
  }

  postMessage(m: ToWorker): void {
    this.ch.port2.postMessage(m);
  }

  terminate(): Promise<void> {
    this.ch.port1.close();
    this.ch.port2.close();
    return Promise.resolve();
  }
}

/**
 * Whether the copy runs on the main thread: by default where there are 2 cores or fewer, since a
 * worker's own isolate, module copies and heap cost RSS and bought no CPU there (measured at
 * 20 000 files, one run each: worker 139 MB and 18.5 CPU-s, main thread 105 MB and 10.9 CPU-s).
 * PITR_COPY_THREAD=worker|main overrides it.
 */
function copyInThread(): boolean {
  const forced = process.env.PITR_COPY_THREAD;
  if (forced === 'main') return true;
  if (forced === 'worker') return false;
  return availableParallelism() <= 2;
}

/**
 * The main thread's young generation, kept at its start size (1 MiB semi-spaces) when the copy
 * runs here. A worker gets the same through resourceLimits; the main thread's size was fixed at
 * start-up, but V8 reads --semi-space-growth-factor each time it would grow the young
 * generation, so 1 keeps it where it is (measured on the bench's scaling part: with the copy on
 * this thread and V8's default the young generation grew to 32 MB). A V8 internal: guarded by
 * test/young-generation-pin.test.ts; off with PITR_GC_PACING=off.
 */
export function pinYoungGeneration(): void {
  if (process.env.PITR_GC_PACING === 'off') return;
  setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * On the main thread, a minor GC per this many bytes copied (copy-service.ts). Measured with
 * -B's peak RSS (bench/README, part (c)): 8 MiB left ssh2's dead packet buffers long enough to
 * spread the C heap ([heap] 23 MB in /proc/PID/smaps at 20 000 files): 102-103 MB at 20 000
 * files, 130 MB at 100 000; 2 MiB: 91-92 MB and 95 MB ([heap] 8.6 MB), no slower; 1 MiB: the
 * same RSS, 16 % slower at 100 000 files; 4 MiB: 98 MB.
 */
const IN_THREAD_GC_BYTES = 2 * 1024 * 1024;

/**
 * Files in flight per stream through the block sender (compress, or a re-sync). Over a long path
 * each small file costs a round trip or two, so the files in flight are what fills it: -B of a
 * pgbench -s 5 cluster (975 files) over 100 Mbit/s + 30 ms each way with compress zstd took
 * 6.4 s with 4, 4.2 s with 16, 3.9 s with 32 (bench part wan's link). Such a file holds no
 * buffer of its own beyond 64 KiB: the block sender pipelines its batches, and a re-sync against
 * a local copy takes the copy's batch buffers (RESYNC_BATCHES in stream-copy.ts).
 */
const FILES_PER_STREAM_SENDER = 16;

/**
 * Files in flight per stream over SFTP. 16 cost -B 7 MB more peak RSS on loopback (part (b):
 * 100.7 MB against 93.7 MB; the scaling part 107 MB against 96.6 MB at 100 000 files: each file
 * in flight has its SFTP requests and handles) for no gain there; over a long path use compress.
 */
const FILES_PER_STREAM_SFTP = 4;

/**
 * Channels (sessions) sshd allows on one connection: OpenSSH's MaxSessions, 10 by default
 * (sshd_config(5)); a connection asking for more gets "open failed". Kept below it by one
 * stream's worth, for a master that lowered it a little.
 */
const MAX_SESSIONS = 10;

/** SFTP streams one copy connection carries: each stream is an SFTP channel, plus an exec channel for its block sender when there is one. */
export function streamsPerConnection(withSender: boolean): number {
  return withSender ? Math.floor((MAX_SESSIONS - 2) / 2) : MAX_SESSIONS - 2;
}

interface Slot {
  worker: CopyThread;
  exited: Promise<void>;
  onMessage?: ((m: FromWorker) => void) | undefined;
  onTempsDropped?: (() => void) | undefined;
}

/** Copy workers with their SSH connections, ready to run job lists. */
export class CopyEngine {
  private failure: Error | undefined;
  private aborted = false;
  private readonly forgetDropper: () => void;

  private constructor(private readonly slots: Slot[]) {
    // A SIGINT or SIGTERM (basebackup-interrupt.ts) exits without unwinding: every copy thread removes its temp files first.
    this.forgetDropper = addTempDropper(() => this.dropTemps());
  }

  /** Asks every copy thread to remove its temp files at once and start no new one; resolves when all said so. */
  private async dropTemps(): Promise<void> {
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.onTempsDropped = resolve;
            s.exited.then(resolve, resolve);
            s.worker.postMessage({ type: 'drop-temps' } satisfies ToWorker);
          }),
      ),
    );
  }

  /** Starts the copy service(s) (copyInThread decides where) and waits until each has its connection and channels. */
  static async start(o: EngineOptions): Promise<CopyEngine> {
    const inThread = copyInThread();
    if (inThread) pinYoungGeneration();
    // On this thread, one service holds every stream its connection can carry (more would only
    // add connections); each service is one SSH connection, which sshd allows MAX_SESSIONS channels.
    const least = Math.ceil(o.streams / streamsPerConnection(o.sender !== undefined));
    const n = Math.max(least, inThread ? 1 : Math.min(o.workers, o.streams));
    const { debug, ...target } = o.target;
    const slots: Slot[] = [];
    let toldNoSender = false;
    for (let i = 0; i < n; i++) {
      // Streams spread as evenly as they go: 4 over 3 workers = 2, 1, 1.
      const streams = Math.floor(o.streams / n) + (i < o.streams % n ? 1 : 0);
      const worker: CopyThread = inThread ? new InThreadCopy() : new Worker(workerUrl(), { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
      const slot: Slot = { worker, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'debug') debug?.(`copy worker ${i + 1}: ${m.line}`);
        else if (m.type === 'no-sender') {
          if (!toldNoSender) o.onNoSender?.(m.reason);
          toldNoSender = true;
        } else if (m.type === 'temps-dropped') slot.onTempsDropped?.();
        else slot.onMessage?.(m);
      });
      slots.push(slot);
      const msg: ToWorker = {
        type: 'init',
        init: {
          target,
          sshDebug: debug !== undefined,
          streams,
          filesPerStream: o.filesPerStream ?? (o.sender ? FILES_PER_STREAM_SENDER : FILES_PER_STREAM_SFTP),
          // 8 x 255 KiB = the 2 MiB channel window: more reads in flight only wait (part (b) of the
          // bench: the same ratios to pg_basebackup and rsync as with 16, 9 MB less peak RSS).
          buffersPerStream: o.buffersPerStream ?? 8,
          ...(inThread ? { gcEveryBytes: IN_THREAD_GC_BYTES } : {}),
          ...(o.sender ? { sender: o.sender } : {}),
        },
      };
      worker.postMessage(msg);
    }
    const engine = new CopyEngine(slots);
    try {
      await Promise.all(slots.map((s) => engine.await(s, 'ready')));
    } catch (err) {
      await engine.abort();
      throw err;
    }
    return engine;
  }

  /** Waits for one message type from a worker; an error message or an early exit rejects. */
  private await(s: Slot, type: 'ready' | 'finished'): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      const onExit = (): void => reject(this.failure ?? new Error('a copy worker of -B ended unexpectedly'));
      s.worker.once('error', onError);
      s.worker.once('exit', onExit);
      s.onMessage = (m) => {
        if (m.type !== type && m.type !== 'error') return;
        s.worker.off('error', onError);
        s.worker.off('exit', onExit);
        if (m.type === 'error') reject(fromWire(m.error));
        else resolve(m);
      };
    });
  }

  /** Copies the jobs of `feed` until it runs dry; the first failure stops every worker and is thrown. */
  async run(feed: JobFeed<FileJob>, o: RunOptions): Promise<CopyResult> {
    const result: CopyResult = { copied: 0, bytes: 0, same: 0, vanished: 0, senderFiles: 0, senderBytes: 0, wireBytes: 0, resynced: 0 };
    // Jobs handed to a worker and not yet reported back: all this side holds of the file list.
    const inFlight = new Map<number, FileJob>();
    let nextId = 0;
    let ended = false;
    // onFile hooks run one after the other, in the order files finish, without holding up the
    // copy; one that fails stops it.
    let hooks: Promise<void> = Promise.resolve();
    let hookError: unknown;
    let onHookError: (e: unknown) => void = () => undefined;
    const hookFailed = new Promise<never>((_, reject) => {
      onHookError = reject;
    });
    hookFailed.catch(() => undefined);
    const send = (s: Slot, m: ToWorker): void => s.worker.postMessage(m);
    const done = this.slots.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          const onError = (e: Error): void => reject(e);
          const onExit = (): void => reject(this.failure ?? new Error('a copy worker of -B ended unexpectedly'));
          s.worker.once('error', onError);
          s.worker.once('exit', onExit);
          const settle = (f: () => void): void => {
            s.worker.off('error', onError);
            s.worker.off('exit', onExit);
            f();
          };
          s.onMessage = (m) => {
            switch (m.type) {
              case 'want': {
                // At least one job (waiting for the walk if need be), then what is at hand: a worker
                // never waits for a full batch while it could be copying.
                const want = m.n;
                void (async () => {
                  const batch: WireJob[] = [];
                  let j = ended ? undefined : await feed.take();
                  while (j !== undefined) {
                    const id = nextId++;
                    inFlight.set(id, j);
                    batch.push({ id, remote: j.remote, local: j.local, size: j.size, mtime: j.mtime >= o.hotSince ? 0 : j.mtime });
                    j = batch.length < want ? feed.tryTake() : undefined;
                  }
                  if (batch.length === 0) ended = true;
                  send(s, { type: 'jobs', jobs: batch, end: batch.length === 0 });
                })().catch((e: unknown) => settle(() => reject(e)));
                break;
              }
              case 'bytes':
                o.onBytes?.(m.n);
                break;
              case 'file': {
                const job = inFlight.get(m.id)!;
                inFlight.delete(m.id);
                if (m.wire !== undefined) result.wireBytes += m.wire;
                if (m.outcome === 'copied') {
                  result.copied++;
                  result.bytes += job.size;
                  if (m.wire !== undefined) {
                    result.senderFiles++;
                    result.senderBytes += job.size;
                    if (m.againstLocal === true) result.resynced++;
                  }
                } else if (m.outcome === 'same') result.same++;
                else result.vanished++;
                const hook = o.onFile;
                if (hook)
                  hooks = hooks
                    .then(() => hook(job, m.outcome))
                    .catch((e: unknown) => {
                      hookError ??= e;
                      onHookError(e);
                    });
                break;
              }
              case 'idle':
                settle(resolve);
                break;
              case 'error':
                settle(() => reject(fromWire(m.error)));
                break;
              default:
                break;
            }
          };
          send(s, { type: 'run' });
        }),
    );
    const all = Promise.all(done).then(() => hooks);
    try {
      await Promise.race([all, hookFailed, ...(o.abort ? [o.abort] : [])]);
      if (hookError !== undefined) throw hookError;
    } catch (err) {
      const cause = hookError ?? err;
      this.failure ??= cause instanceof Error ? cause : new Error(String(cause));
      await this.abort();
      await hooks; // a hook still running (one that stops a server, in the tests) ends first
      throw hookError ?? this.failure;
    }
    return result;
  }

  /** Closes the workers' connections and waits for them to end. */
  async finish(): Promise<void> {
    this.forgetDropper();
    await Promise.all(
      this.slots.map(async (s) => {
        const p = this.await(s, 'finished');
        s.worker.postMessage({ type: 'finish' } satisfies ToWorker);
        await p;
        await s.exited;
      }),
    );
  }

  /** Cuts the workers' connections (their requests fail, their temp files go) and waits for them to end. */
  async abort(): Promise<void> {
    if (this.aborted) return;
    this.aborted = true;
    this.forgetDropper();
    for (const s of this.slots) {
      s.onMessage = undefined;
      s.worker.postMessage({ type: 'abort' } satisfies ToWorker);
    }
    // A worker stuck in a system call must not keep -B from reporting: give up on it after a while.
    await Promise.race([Promise.all(this.slots.map((s) => s.exited)), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/**
 * A copy worker of -B: its own SSH connection to the master, `streams` SFTP channels, files
 * pulled from the engine (copy.ts) in small batches over a message port. It runs in a worker
 * thread (copy-worker.ts) or, on a machine with 2 cores or fewer, on the main thread over a
 * MessageChannel (copy.ts says why). Why a thread where there are cores: ssh2 does all the
 * packet work of a connection (framing, decryption, SFTP parsing) on the thread that owns it,
 * which can then run beside the main thread (the backup's database session) and on more cores;
 * and this thread's small heap stays clear of the garbage-collector storm that ~1 GB/s of
 * short-lived network buffers caused in the main thread, where pg (which loads undici) and the
 * command line live: measured on the benchmark's 1 GB cluster, ~130 full mark-compacts and 2.0 s
 * of user CPU there, 6 and 1.4 s with the copy in this thread.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MessagePort } from 'node:worker_threads';
import { dropTemps } from '@pitrtools/core/fs/temp-registry';
import { connectSsh, type SftpChannel, type SshSession } from '@pitrtools/core/ssh/index';
import { toWire, type FromWorker, type ToWorker, type WireJob, type WorkerInit } from './copy-protocol.js';
import type { BlockChannel } from './block-channel.js';
import { startSenders } from './sender-start.js';
import { runStreams, type JobSource } from './stream-copy.js';

/**
 * Jobs come from the main thread on request: first one per stream (the largest files, the long
 * poles, must spread over the streams and workers rather than all go to whichever asked
 * first), then as many as slots wait plus one per stream ahead.
 */
class BatchSource implements JobSource {
  private readonly queue: WireJob[] = [];
  private ended = false;
  private asked = false;
  private started = false;
  private readonly waiting: Array<(j: WireJob | undefined) => void> = [];

  constructor(
    private readonly ahead: number,
    private readonly post: (m: FromWorker) => void,
  ) {}

  next(): Promise<WireJob | undefined> {
    const j = this.queue.shift();
    const p = j || this.ended ? Promise.resolve(j) : new Promise<WireJob | undefined>((resolve) => this.waiting.push(resolve));
    // After the slots that start together have all asked (same tick), one request covers them.
    queueMicrotask(() => this.refill());
    return p;
  }

  add(jobs: WireJob[], end: boolean): void {
    this.asked = false;
    this.started = true;
    this.queue.push(...jobs);
    if (end) this.ended = true;
    while (this.waiting.length > 0 && (this.queue.length > 0 || this.ended)) this.waiting.shift()!(this.queue.shift());
    this.refill();
  }

  private refill(): void {
    const n = this.started ? this.waiting.length + this.ahead - this.queue.length : Math.min(this.waiting.length, this.ahead);
    if (this.asked || this.ended || n <= 0) return;
    this.asked = true;
    this.post({ type: 'want', n });
  }
}

/**
 * ssh2 allocates a new buffer for every SSH packet and SFTP answer; they die at once but live
 * outside V8's heap, which collects them only after tens of megabytes piled up (measured at
 * 20 000 files: 42 MB of dead buffers in this thread). A minor GC every 5 ms while the copy runs
 * frees them as they die, as cmd_archiver's gc-pacer.ts does; or, with `everyBytes` (the copy on
 * the main thread, whose young generation is pinned small: copy.ts), one per that many bytes
 * received, since the dead buffers grow with the bytes (every 5 ms there cost ~7 CPU-s more of
 * page faults at 20 000 files). Off: PITR_GC_PACING=off.
 */
function paceGc(everyBytes: number | undefined): { stop(): void; onBytes(n: number): void } {
  const none = { stop: () => undefined, onBytes: () => undefined };
  if (process.env.PITR_GC_PACING === 'off') return none;
  let gc: ((o: { type: 'minor' }) => void) | undefined;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    if (typeof fn === 'function') gc = fn as typeof gc;
  } catch {
    // No gc(): the copy works the same, with more memory.
  }
  if (!gc) return none;
  const collect = gc;
  if (everyBytes !== undefined) {
    let since = 0;
    return {
      stop: () => undefined,
      onBytes: (n) => {
        since += n;
        if (since < everyBytes) return;
        since = 0;
        collect({ type: 'minor' });
      },
    };
  }
  const timer = setInterval(() => collect({ type: 'minor' }), 5);
  return { stop: () => clearInterval(timer), onBytes: () => undefined };
}

/** Serves the engine's messages on `port` (a worker's parentPort, or one end of a MessageChannel); closes it when done. */
export function serveCopy(port: MessagePort): void {
  const post = (m: FromWorker): void => port.postMessage(m);
  let init: WorkerInit;
  let session: SshSession | undefined;
  let channels: SftpChannel[] = [];
  let senders: BlockChannel[] = [];
  let source: BatchSource | undefined;
  let aborted = false;
  let pendingBytes = 0;
  let flushTimer: NodeJS.Timeout | undefined;

  function flushBytes(): void {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (pendingBytes > 0) post({ type: 'bytes', n: pendingBytes });
    pendingBytes = 0;
  }

  let paced: ReturnType<typeof paceGc> | undefined;

  function onBytes(n: number): void {
    paced?.onBytes(n);
    pendingBytes += n;
    flushTimer ??= setTimeout(flushBytes, 100);
  }

  async function start(i: WorkerInit): Promise<void> {
    init = i;
    const s = await connectSsh(i.sshDebug ? { ...i.target, debug: (line) => post({ type: 'debug', line }) } : i.target);
    session = s;
    if (aborted) return s.destroy(); // -B gave up while this connection came up
    channels = await Promise.all(Array.from({ length: i.streams }, () => s.openSftp()));
    if (i.sender) senders = await startSenders(s, i.sender, i.streams, (reason) => post({ type: 'no-sender', reason }));
    post({ type: 'ready' });
  }

  async function run(): Promise<void> {
    source = new BatchSource(init.streams, post);
    paced = paceGc(init.gcEveryBytes);
    try {
      await runStreams(channels, source, {
        filesPerStream: init.filesPerStream,
        buffersPerStream: init.buffersPerStream,
        onBytes,
        senders,
        senderAlways: init.sender?.always ?? false,
        onFile: (job, outcome, wire) => {
          flushBytes();
          post(
            wire === undefined
              ? { type: 'file', id: job.id, outcome }
              : { type: 'file', id: job.id, outcome, wire: wire.bytes, againstLocal: wire.againstLocal },
          );
        },
      });
    } finally {
      paced.stop();
    }
    flushBytes();
    post({ type: 'idle' });
  }

  async function finish(): Promise<void> {
    for (const b of senders) b.end();
    await session?.close();
    post({ type: 'finished' });
    port.close();
  }

  function fail(err: unknown): void {
    post({ type: 'error', error: toWire(err) });
  }

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'init':
        start(m.init).catch(fail);
        break;
      case 'run':
        run().catch(fail);
        break;
      case 'jobs':
        source?.add(m.jobs, m.end);
        break;
      case 'abort':
        // Cutting the connection fails every request in flight; the streams discard their temp files.
        aborted = true;
        session?.destroy();
        port.close();
        break;
      case 'finish':
        finish().catch(fail);
        break;
      case 'drop-temps':
        // The process is about to exit (SIGINT, SIGTERM): this thread's temp files go now, and no new one starts.
        // The answer waits for opens under way: once it is sent, no temp of this thread is on disk.
        void dropTemps().then(() => post({ type: 'temps-dropped' }));
        break;
    }
  });
}

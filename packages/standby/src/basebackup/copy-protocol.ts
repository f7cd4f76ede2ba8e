/**
 * What -B's main thread and its copy workers say to each other (worker_threads messages).
 * Jobs travel in small batches on request, so no worker holds the whole file list.
 */
import { PitrError, errorCode, errorMessage, isErrorCode } from '@pitrtools/core/errors';
import type { SshTarget } from '@pitrtools/core/ssh/index';

/** One file to copy, as sent to a worker (id: its index in the main thread's list). */
export interface WireJob {
  id: number;
  remote: string;
  local: string;
  size: number;
  /** The mtime to give the copy: the master's, or 0 for a file that may change unseen. */
  mtime: number;
}

/** The outcome of one file. */
export type FileOutcome = 'copied' | 'same' | 'vanished';

/** How a worker sets itself up. */
export interface WorkerInit {
  /** The master's SSH target (without the debug callback, which cannot cross threads). */
  target: Omit<SshTarget, 'debug'>;
  /** ssh_debug: send ssh2's protocol lines back as `debug` messages. */
  sshDebug: boolean;
  /** SFTP channels (parallel streams) of this worker's own SSH connection. */
  streams: number;
  filesPerStream: number;
  buffersPerStream: number;
  /** A minor GC per this many bytes received instead of every 5 ms (the copy on the main thread). */
  gcEveryBytes?: number;
  /** Block re-sync: the master's command (master_cmd_standby --send-files) and the `compress` value; absent: SFTP only. */
  sender?: SenderInit;
}

/** How a worker starts block senders on the master (block-sender.ts), one per stream. */
export interface SenderInit {
  argv: string[];
  compress: string;
  /** Send every file through the sender (compressing), not only those with a local copy to compare. */
  always: boolean;
}

/** Main thread → worker. */
export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'run' }
  | { type: 'jobs'; jobs: WireJob[]; end: boolean }
  | { type: 'abort' }
  | { type: 'finish' }
  | { type: 'drop-temps' };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'want'; n: number }
  | { type: 'bytes'; n: number }
  /** wire: bytes the block sender moved for it (undefined: copied whole over SFTP); againstLocal: rebuilt against the standby's copy. */
  | { type: 'file'; id: number; outcome: FileOutcome; wire?: number; againstLocal?: boolean }
  /** The block sender could not start on the master (why); the copy goes on over SFTP. */
  | { type: 'no-sender'; reason: string }
  | { type: 'idle' }
  | { type: 'finished' }
  | { type: 'temps-dropped' }
  | { type: 'debug'; line: string }
  | { type: 'error'; error: WireError };

/** An error as it crosses threads: what the main thread reports and decides on. */
export interface WireError {
  name: string;
  code: string | undefined;
  message: string;
  hint: string | undefined;
}

/** Flattens an error for postMessage. */
export function toWire(err: unknown): WireError {
  const hint = err instanceof PitrError ? err.hint : undefined;
  return { name: err instanceof Error ? err.name : 'Error', code: errorCode(err), message: errorMessage(err), hint };
}

/** Rebuilds a worker's error: same code and message (ENOSPC stays ENOSPC, SSH_DISCONNECTED stays that). */
export function fromWire(w: WireError): Error {
  if (isErrorCode(w.code)) {
    return new PitrError(w.code, w.message, w.hint !== undefined ? { hint: w.hint } : {});
  }
  const e = new Error(w.message) as Error & { code?: string };
  if (w.code !== undefined) e.code = w.code;
  e.name = w.name;
  return e;
}

/**
 * The local protocol between cmd_archiver and cmd_queue: one JSON object per line. The client
 * sends one request; the daemon answers `working` at once (with how long the client may wait),
 * then one final answer, sent only when it is true for that segment.
 */

import { parseVerdict, type FailedVerdict } from '../archive/verdict.js';

/** Protocol version; a daemon of another version is simply not used. */
export const PROTOCOL_VERSION = 2;

/** cmd_archiver → cmd_queue. */
export interface ArchiveRequest {
  v: number;
  op: 'archive';
  /** realpath of the ini the client was given: the daemon serves exactly one. */
  config: string;
  /** -F as given (%p). */
  file: string;
}

/** cmd_queue → cmd_archiver. A `verdict` is reported by the client exactly as a standalone run reports it (archive/verdict.ts). */
export type Reply =
  | { status: 'working'; deadlineMs: number }
  | { status: 'ok' }
  /** offline or conflict: final; a failure is never final here (the client does the job itself and queues). */
  | { status: 'verdict'; verdict: FailedVerdict }
  /** Not handled here (invalid input, another config, a local failure, a config change): do it yourself. */
  | { status: 'fallback'; message: string };

/** Parses one reply line; undefined for anything malformed. */
export function parseReply(line: string): Reply | undefined {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r.status === 'working' && typeof r.deadlineMs === 'number' && r.deadlineMs > 0) return { status: 'working', deadlineMs: r.deadlineMs };
    if (r.status === 'ok') return { status: 'ok' };
    if (r.status === 'verdict') {
      const verdict = parseVerdict(r.verdict);
      return verdict && verdict.kind !== 'failed' ? { status: 'verdict', verdict } : undefined;
    }
    if (r.status === 'fallback') return { status: 'fallback', message: typeof r.message === 'string' ? r.message : '' };
  } catch {
    // not JSON
  }
  return undefined;
}

/** Parses a request line; undefined for anything malformed. */
export function parseRequest(line: string): ArchiveRequest | undefined {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r.v === PROTOCOL_VERSION && r.op === 'archive' && typeof r.config === 'string' && typeof r.file === 'string') {
      return { v: r.v, op: 'archive', config: r.config, file: r.file };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

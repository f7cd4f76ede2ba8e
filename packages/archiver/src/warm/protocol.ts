/**
 * The local protocol between cmd_archiver and cmd_queue: one JSON object per line. The client
 * sends one request; the daemon answers `working` at once (with how long the client may wait),
 * then one final answer, sent only when it is true for that segment.
 */

/** Protocol version; a daemon of another version is simply not used. */
export const PROTOCOL_VERSION = 1;

/** cmd_archiver → cmd_queue. */
export interface ArchiveRequest {
  v: number;
  op: 'archive';
  /** realpath of the ini the client was given: the daemon serves exactly one. */
  config: string;
  /** -F as given (%p). */
  file: string;
}

/** Final answers the client acts on; everything else makes it do the job itself. */
export type FinalStatus = 'ok' | 'conflict' | 'offline';

/** cmd_queue → cmd_archiver. */
export type Reply =
  | { status: 'working'; deadlineMs: number }
  | { status: FinalStatus; message?: string }
  /** Not handled here (invalid input, another config, a local failure, a config change): do it yourself. */
  | { status: 'fallback'; message: string };

/** Exit codes of the final answers (see ExitCode in core). */
export const FINAL_EXIT: Record<FinalStatus, number> = { ok: 0, offline: 3, conflict: 4 };

/** Parses one reply line; undefined for anything malformed. */
export function parseReply(line: string): Reply | undefined {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r.status === 'working' && typeof r.deadlineMs === 'number' && r.deadlineMs > 0) return { status: 'working', deadlineMs: r.deadlineMs };
    if (r.status === 'ok' || r.status === 'conflict' || r.status === 'offline') {
      return { status: r.status, ...(typeof r.message === 'string' ? { message: r.message } : {}) };
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

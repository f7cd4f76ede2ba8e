/**
 * What --check remembers between two runs (pgdata/pitrtools.check-state), so that it can tell how
 * long something has been wrong: since when replay has not moved, the WAL receiver has not been
 * streaming, the master has not answered. Pure: local/files.ts reads and writes the file.
 */

/** Times in ms since the epoch. */
export interface CheckState {
  replayLsn?: string | undefined;
  /** When replayLsn was first seen at its current value. */
  replaySince?: number | undefined;
  receiverDownSince?: number | undefined;
  masterUnreachableSince?: number | undefined;
}

/** One run's observations. */
export interface CheckObservation {
  now: number;
  replayLsn?: string | undefined;
  /** undefined: not a streaming standby (or not in recovery). */
  receiverStreaming?: boolean | undefined;
  /** undefined: the master was not asked. */
  masterReachable?: boolean | undefined;
}

/** The state after `o`; a condition that ended forgets its start. */
export function nextCheckState(prev: CheckState, o: CheckObservation): CheckState {
  const since = (was: number | undefined, bad: boolean | undefined): number | undefined => (bad ? (was ?? o.now) : undefined);
  const sameReplay = o.replayLsn !== undefined && o.replayLsn === prev.replayLsn && prev.replaySince !== undefined;
  return {
    replayLsn: o.replayLsn,
    replaySince: o.replayLsn === undefined ? undefined : sameReplay ? prev.replaySince : o.now,
    receiverDownSince: since(prev.receiverDownSince, o.receiverStreaming === undefined ? undefined : !o.receiverStreaming),
    masterUnreachableSince: since(prev.masterUnreachableSince, o.masterReachable === undefined ? undefined : !o.masterReachable),
  };
}

/** Reads the state file's text; anything unreadable is a fresh start. */
export function parseCheckState(text: string | undefined): CheckState {
  try {
    const o = JSON.parse(text ?? '') as Record<string, unknown>;
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    return {
      replayLsn: typeof o.replayLsn === 'string' ? o.replayLsn : undefined,
      replaySince: num(o.replaySince),
      receiverDownSince: num(o.receiverDownSince),
      masterUnreachableSince: num(o.masterUnreachableSince),
    };
  } catch {
    return {};
  }
}

/**
 * The newest replication error in a tail of the server log: the walreceiver's connection and
 * stream failures as PostgreSQL 14-18 word them (src/backend/replication/libpqwalreceiver and
 * walreceiver.c), and the segment named by "requested WAL segment ... has already been removed".
 */
export function lastReplicationError(logTail: string): { line: string; removedSegment?: string } | undefined {
  const re =
    /(?:FATAL|ERROR|LOG):\s+((?:could not connect to the primary server|could not receive data from WAL stream|could not start WAL streaming|replication terminated by primary server|terminating walreceiver|could not send end-of-streaming message|replication slot "[^"]*" does not exist).*)$/gm;
  let last: string | undefined;
  for (const m of logTail.matchAll(re)) last = m[0];
  if (last === undefined) return undefined;
  const removed = /requested WAL segment ([0-9A-F]{24}) has already been removed/.exec(last);
  return { line: last.trim().slice(0, 400), ...(removed ? { removedSegment: removed[1]! } : {}) };
}

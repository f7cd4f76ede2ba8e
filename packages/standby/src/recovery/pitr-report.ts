/** The words -R ends with (stdout) and its pitr_done alert, for every outcome of the replay. */

/** What recovery reached: pg_last_xact_replay_timestamp() as text (null: none replayed) and the log's "stopping before" time. */
export interface PitrReached {
  target: string;
  /** Commit time of the last replayed transaction, as PostgreSQL prints it; null when none was replayed after the copy's start. */
  lastReplayed: string | null;
  stoppedBefore?: string | undefined;
}

/** The success line of -R: "Recovered to T: ...; the server is read-write". */
export function pitrDoneLine(r: PitrReached): string {
  const stopped = r.stoppedBefore !== undefined ? ` (stopped before a transaction committed at ${r.stoppedBefore})` : '';
  if (r.lastReplayed === null) {
    return `Recovered to ${r.target}: no transaction was replayed after the copy's start, so the data is as of the base backup${stopped}; the server is read-write`;
  }
  return `Recovered to ${r.target}: last replayed transaction committed at ${r.lastReplayed}${stopped}; the server is read-write`;
}

/** The message of the pitr_done alert. */
export function pitrDoneAlert(r: PitrReached): string {
  const what = r.lastReplayed === null ? "no transaction replayed after the copy's start" : `last replayed transaction committed at ${r.lastReplayed}`;
  return `point-in-time recovery to ${r.target} done: ${what}${r.stoppedBefore !== undefined ? `, stopped before one committed at ${r.stoppedBefore}` : ''}`;
}

/**
 * The I/O the archiving use cases need, as small interfaces: the local queues (QueueStore), a
 * connection to one slave (SlaveLink), alerts and the clock. The adapters implement them over
 * node:fs and ssh2; unit tests hand in fakes that fail exactly where a test wants.
 */
import type { AlertLevel } from '@pitrtools/core/alerts';
import type { Logger } from '@pitrtools/core/log';

/** What happened when a file was placed without overwriting. */
export type PlaceStatus = 'created' | 'identical' | 'conflict';

/** One WAL file waiting in a slave's queue. */
export interface QueuedFile {
  readonly name: string;
  readonly size: number;
  /** When it was queued (the copy's mtime). */
  readonly mtimeMs: number;
}

/** What a slave's queue directory holds. */
export interface QueueScan {
  /** WAL files waiting, in WAL order. */
  readonly files: QueuedFile[];
  /** Text of the NEEDS_BASE_BACKUP marker when the slave is detached. */
  readonly detached: string | undefined;
  /** Claim files present (dot names such as `.outage`). */
  readonly claims: ReadonlySet<string>;
}

/** How many files and bytes a queue holds. */
export interface QueueTotals {
  readonly count: number;
  readonly bytes: number;
}

/** What the per-segment path needs of a queue, read in constant time whatever the queue holds. */
export interface QueueLook extends QueueTotals {
  /** Text of the NEEDS_BASE_BACKUP marker when the slave is detached. */
  readonly detached: string | undefined;
  /** Those of the asked claim files that exist. */
  readonly claims: ReadonlySet<string>;
}

/**
 * l_archivedir: one directory per slave (named after it), holding queued segments, the
 * NEEDS_BASE_BACKUP marker and claim files. A scope is a slave's queue name, or '' for
 * l_archivedir itself.
 */
export interface QueueStore {
  /** l_archivedir. */
  readonly root: string;
  /** Reads a queue directory, O(files); a missing one is an empty queue. */
  scan(slave: string): Promise<QueueScan>;
  /** Count and bytes of a queue, the marker, and which of `claims` exist, without listing the queue (O(1)). */
  look(slave: string, claims: readonly string[]): Promise<QueueLook>;
  /** Copies `src` into the queue durably without overwriting (creating the slave's directory if needed). */
  enqueue(slave: string, src: string, name: string): Promise<PlaceStatus>;
  /** Path of a queued file, to upload from. */
  path(slave: string, name: string): string;
  /** Removes a delivered file (fine if it is already gone). */
  remove(slave: string, name: string): Promise<void>;
  /**
   * Creates the marker durably unless it exists (then another process dropped the queue), then
   * deletes every queued WAL file; says whether this call created the marker and how many it deleted.
   */
  drop(slave: string, marker: string): Promise<{ created: boolean; deleted: number }>;
  /** Removes the marker; true when there was one. */
  resetMarker(slave: string): Promise<boolean>;
  /** Creates a claim file atomically with its content; false when it already exists. */
  claim(scope: string, claim: string, content: string): Promise<boolean>;
  /** Takes a claim (and its numbered repeats `claim.N`) away atomically; its content when this call removed it. */
  release(scope: string, claim: string): Promise<string | undefined>;
  /** Appends to an existing claim file (nothing when it does not exist). */
  append(scope: string, claim: string, text: string): Promise<void>;
  /** Content of a claim file (at most its first `maxBytes` bytes when given), or undefined. */
  read(scope: string, claim: string, maxBytes?: number): Promise<string | undefined>;
}

/** A usable connection to one slave's r_archivedir. */
export interface SlaveLink {
  /** Uploads a local file durably as `name`, never overwriting. */
  upload(src: string, name: string): Promise<PlaceStatus>;
  /** Size of `name` in r_archivedir, or undefined when absent. */
  stat(name: string): Promise<{ size: number } | undefined>;
  /** Uploads worth having in flight at once (the queue drain pipelines that many); 1 or absent: one at a time. */
  readonly ahead?: number;
}

/** Hands out the link to a slave; throws (an SshError) when the slave cannot be reached. */
export interface LinkProvider {
  get(): Promise<SlaveLink>;
}

/** An alert as the use cases raise it (role and host are added by the sink). */
export interface AlertRequest {
  level: AlertLevel;
  event: string;
  message: string;
  slave?: string;
  segment?: string;
}

/** Raises an alert in the background; the command waits for all of them before it exits. */
export type AlertFn = (a: AlertRequest) => void;

/** The queue thresholds and budgets of cmd_archiver.ini, in bytes and milliseconds. */
export interface QueueLimits {
  warnBytes: number | null;
  criticalBytes: number | null;
  maxBytes: number | null;
  alertRepeatMs: number;
  /** Time one run may spend on older queued segments before the new one; 0 = none. */
  drainBudgetMs: number;
  /** The ini file, for the commands alert messages tell people to run. */
  configFile: string;
}

/** One slave as the use cases see it. */
export interface SlaveInfo {
  /** Queue directory name. */
  name: string;
  /** `user@host:port`. */
  endpoint: string;
  r_archivedir: string;
}

/** Everything the delivery of segments to one slave needs. */
export interface SlaveContext {
  slave: SlaveInfo;
  store: QueueStore;
  link: LinkProvider;
  alert: AlertFn;
  now: () => number;
  log: Logger;
  limits: QueueLimits;
}

/** A validated file to archive. */
export interface Segment {
  name: string;
  /** Real absolute path inside pg_wal. */
  path: string;
  size: number;
}

/** In-memory fakes of the archiving ports, with switches to make them fail where a test wants. */
import type { Logger } from '@pitrtools/core/log';
import { memoryLogger } from '@pitrtools/core/log';
import { PitrError } from '@pitrtools/core/errors';
import { compareWalNames, isWalName } from '@pitrtools/core/wal';
import type {
  AlertRequest,
  LinkProvider,
  PlaceStatus,
  QueueLimits,
  QueueLook,
  QueueScan,
  QueueStore,
  Segment,
  SlaveContext,
  SlaveLink,
} from '../src/archive/ports.js';
import type { SlaveOutcome } from '../src/archive/outcome.js';
import { verdictError, verdictFor } from '../src/archive/verdict.js';

/** Local "files": path → bytes (as a string) and the time they were written. */
export class MemFs {
  files = new Map<string, { data: string; mtimeMs: number }>();
  now = 1_000_000;
  put(path: string, data: string): void {
    this.files.set(path, { data, mtimeMs: this.now });
  }
  get(path: string): string | undefined {
    return this.files.get(path)?.data;
  }
}

/** A QueueStore over MemFs; `failEnqueueAt` makes the n-th enqueue throw (1-based). */
export class MemStore implements QueueStore {
  readonly root = '/q';
  enqueues = 0;
  failEnqueueAt: number | undefined;
  constructor(readonly fs: MemFs) {}
  path(slave: string, name: string): string {
    return `${this.root}/${slave}/${name}`;
  }
  /** Names in a queue directory (for assertions). */
  entriesOf(slave: string): string[] {
    return this.entries(slave);
  }
  private entries(slave: string): string[] {
    const prefix = `${this.root}/${slave}/`;
    return [...this.fs.files.keys()].filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
  }
  async scan(slave: string): Promise<QueueScan> {
    const names = this.entries(slave);
    const files = names
      .filter(isWalName)
      .sort(compareWalNames)
      .map((name) => {
        const f = this.fs.files.get(this.path(slave, name))!;
        return { name, size: f.data.length, mtimeMs: f.mtimeMs };
      });
    return { files, detached: this.fs.get(this.path(slave, 'NEEDS_BASE_BACKUP')), claims: new Set(names.filter((n) => n.startsWith('.'))) };
  }
  async look(slave: string, claims: readonly string[]): Promise<QueueLook> {
    const { files, detached } = await this.scan(slave);
    return {
      count: files.length,
      bytes: files.reduce((n, f) => n + f.size, 0),
      detached,
      claims: new Set(claims.filter((c) => this.fs.files.has(this.path(slave, c)))),
    };
  }
  async enqueue(slave: string, src: string, name: string): Promise<PlaceStatus> {
    if (++this.enqueues === this.failEnqueueAt) throw new Error('disk full (injected)');
    const data = this.fs.get(src);
    if (data === undefined) throw Object.assign(new Error(`ENOENT ${src}`), { code: 'ENOENT' });
    const have = this.fs.get(this.path(slave, name));
    if (have !== undefined) return have === data ? 'identical' : 'conflict';
    this.fs.put(this.path(slave, name), data);
    return 'created';
  }
  async remove(slave: string, name: string): Promise<void> {
    this.fs.files.delete(this.path(slave, name));
  }
  async drop(slave: string, marker: string): Promise<{ created: boolean; deleted: number }> {
    const created = await this.claim(slave, 'NEEDS_BASE_BACKUP', marker);
    const wal = this.entries(slave).filter(isWalName);
    for (const n of wal) this.fs.files.delete(this.path(slave, n));
    return { created, deleted: wal.length };
  }
  async resetMarker(slave: string): Promise<boolean> {
    return this.fs.files.delete(this.path(slave, 'NEEDS_BASE_BACKUP'));
  }
  private p(scope: string, claim: string): string {
    return scope === '' ? `${this.root}/${claim}` : this.path(scope, claim);
  }
  async claim(scope: string, claim: string, content: string): Promise<boolean> {
    if (this.fs.files.has(this.p(scope, claim))) return false;
    this.fs.put(this.p(scope, claim), content);
    return true;
  }
  async release(scope: string, claim: string): Promise<string | undefined> {
    const text = this.fs.get(this.p(scope, claim));
    if (text === undefined) return undefined;
    this.fs.files.delete(this.p(scope, claim));
    for (const n of this.entries(scope)) if (n.startsWith(`${claim}.`)) this.fs.files.delete(this.p(scope, n));
    return text;
  }
  async append(scope: string, claim: string, text: string): Promise<void> {
    const f = this.fs.files.get(this.p(scope, claim));
    if (f) f.data += text;
  }
  async read(scope: string, claim: string, maxBytes?: number): Promise<string | undefined> {
    const text = this.fs.get(this.p(scope, claim));
    return maxBytes === undefined ? text : text?.slice(0, maxBytes);
  }
}

/** A slave: its r_archivedir as a map, an up/down switch, an upload log, and injected faults. */
export class FakeSlave implements LinkProvider {
  files = new Map<string, string>();
  up = true;
  uploads: string[] = [];
  /** Fail the n-th upload (1-based) with a disconnect, as if the connection dropped mid-way. */
  dropAt: number | undefined;
  /** When set, connecting throws this (e.g. an SSH_AUTH_FAILED) instead of the refusal of `up = false`. */
  connectError: Error | undefined;
  /** When set, every upload throws this (e.g. an SFTP_NO_SPACE) after the connection succeeded. */
  uploadError: Error | undefined;
  /** Called before each upload (e.g. to advance the clock). */
  onUpload: (name: string) => void = () => undefined;
  /** What the link says it pipelines (compress); each upload then takes a turn of the event loop, and the most at once is counted. */
  ahead = 1;
  active = 0;
  maxActive = 0;
  constructor(private readonly fs: MemFs) {}
  async get(): Promise<SlaveLink> {
    if (this.connectError) throw this.connectError;
    if (!this.up) throw new PitrError('SSH_REFUSED', 'connection to 127.0.0.1:22 refused (fake)');
    return {
      ahead: this.ahead,
      upload: async (src, name) => {
        if (this.ahead > 1) {
          this.maxActive = Math.max(this.maxActive, ++this.active);
          await new Promise((resolve) => setImmediate(resolve));
          this.active--;
        }
        this.onUpload(name);
        if (this.uploadError) {
          this.uploads.push(`${name}!`);
          throw this.uploadError;
        }
        if (!this.up || this.uploads.length + 1 === this.dropAt) {
          this.uploads.push(`${name}!`);
          throw new PitrError('SSH_DISCONNECTED', 'lost the SSH connection (fake)');
        }
        const data = this.fs.get(src);
        if (data === undefined) throw Object.assign(new Error(`ENOENT ${src}`), { code: 'ENOENT' });
        this.uploads.push(name);
        const have = this.files.get(name);
        if (have !== undefined) return have === data ? 'identical' : 'conflict';
        this.files.set(name, data);
        return 'created';
      },
      stat: async (name) => (this.files.has(name) ? { size: this.files.get(name)!.length } : undefined),
    };
  }
}

/** Segment names 000000010000000000000001... */
export const seg = (n: number): string => `00000001000000000000${n.toString(16).toUpperCase().padStart(4, '0')}`;

/** A world with one slave: fs, store, slave, recorded alerts and a settable clock. */
export function world(limits: Partial<QueueLimits> = {}): {
  fs: MemFs;
  store: MemStore;
  slave: FakeSlave;
  alerts: AlertRequest[];
  log: Logger & { lines: string[] };
  ctx: SlaveContext;
  wal(n: number, data?: string): Segment;
} {
  const fs = new MemFs();
  const store = new MemStore(fs);
  const slave = new FakeSlave(fs);
  const alerts: AlertRequest[] = [];
  const log = memoryLogger();
  const ctx: SlaveContext = {
    slave: { name: 's1', endpoint: 'pg@s1:22', r_archivedir: '/archive' },
    store,
    link: slave,
    alert: (a) => alerts.push(a),
    now: () => fs.now,
    log,
    limits: { warnBytes: null, criticalBytes: null, maxBytes: null, alertRepeatMs: 3_600_000, drainBudgetMs: 10_000, configFile: '/etc/a.ini', ...limits },
  };
  const wal = (n: number, data = `wal-${n}`): Segment => {
    const path = `/pgdata/pg_wal/${seg(n)}`;
    fs.put(path, data);
    return { name: seg(n), path, size: data.length };
  };
  return { fs, store, slave, alerts, log, ctx, wal };
}

/** The exit code -F reports for these outcomes, through the one mapping every path uses (archive/verdict.ts). */
export function exitCodeFor(outcomes: readonly SlaveOutcome[]): number {
  const v = verdictFor('000000010000000000000001', new Map(outcomes.map((o, i) => [`slave${i}`, o])));
  return v.kind === 'archived' ? 0 : verdictError(v).exitCode;
}

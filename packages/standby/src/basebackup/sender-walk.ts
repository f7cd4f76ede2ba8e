/**
 * -B's walk through the block sender (block-sender.ts) instead of SFTP: a directory is one L
 * request whose answer streams every entry, where SFTP costs an OPENDIR, a READDIR per 100
 * entries and a CLOSE, each a round trip. Over a long path the walk decided -B's time: at
 * 100 Mbit/s + 30 ms each way (bench part wan) the SFTP walk of a pgbench -s 5 cluster (975 files,
 * ~30 directories) took ~1.9 s while the copy it fed needed ~0.6 s of the link; its round trips
 * also queue behind the copy's data on the link. Same shapes and errors as the SFTP channel's
 * (plan.ts's WalkChannel), so the walk's decisions do not depend on which one lists.
 */
import { posix } from 'node:path';
import { sftpError, toStat, type RemoteDirEntry, type RemoteStat, type SshSession } from '@pitrtools/core/ssh/index';
import { BlockChannel } from './block-channel.js';
import type { ListedEntry } from './block-frames.js';
import type { WalkChannel } from './plan.js';

/**
 * One value at a time from a producer to a consumer: put() resolves once the value was taken, so
 * the block channel reads the next frame only when the walk wants it (what is held stays one
 * frame of entries). Once the consumer leaves, put() drops values at once.
 */
class Handoff<T> {
  private value: { v: T; taken: () => void } | undefined;
  private waiting: ((v: IteratorResult<T, undefined>) => void) | undefined;
  private ended = false;
  private failure: unknown;
  private left = false;

  put(v: T): Promise<void> {
    if (this.left) return Promise.resolve();
    return new Promise((taken) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) {
        w({ value: v, done: false });
        taken();
      } else this.value = { v, taken };
    });
  }

  end(failure?: unknown): void {
    this.ended = true;
    this.failure = failure;
    const w = this.waiting;
    this.waiting = undefined;
    w?.({ value: undefined, done: true });
  }

  async take(): Promise<T | undefined> {
    const held = this.value;
    if (held) {
      this.value = undefined;
      held.taken();
      return held.v;
    }
    if (this.ended) {
      if (this.failure !== undefined) throw this.failure;
      return undefined;
    }
    const r = await new Promise<IteratorResult<T, undefined>>((resolve) => {
      this.waiting = resolve;
    });
    if (r.done && this.failure !== undefined) throw this.failure;
    return r.done ? undefined : r.value;
  }

  leave(): void {
    this.left = true;
    this.value?.taken();
    this.value = undefined;
  }
}

/** The walk's listings through one block sender on the master. */
export class SenderWalk implements WalkChannel {
  private nextId = 1;
  /**
   * What the listings said of symlinks' targets, by path, until the walk stats them. The walk
   * stats a symlink while it goes through the listing that holds it; a T request then would
   * wait behind that listing's unread frames, which wait for the walk: the answer must be here.
   */
  private readonly targets = new Map<string, NonNullable<ListedEntry['target']>>();

  private constructor(private readonly ch: BlockChannel) {}

  /** Starts `argv` (master_cmd_standby --send-files) over `session`. Throws what BlockChannel.start throws (not installed, another version). */
  static async start(session: SshSession, argv: readonly string[]): Promise<SenderWalk> {
    return new SenderWalk(await BlockChannel.start(await session.openExec(argv), 'none'));
  }

  /** A BlockChannel already started (the unit tests' pipes). */
  static over(ch: BlockChannel): SenderWalk {
    return new SenderWalk(ch);
  }

  /** The directory's entries, lstat's view, in batches of up to LIST_FRAME_ENTRIES; throws an SshError as SftpChannel.readdirBatches does. */
  async *readdirBatches(path: string): AsyncGenerator<RemoteDirEntry[]> {
    const hand = new Handoff<RemoteDirEntry[]>();
    const listing = this.ch.list(this.nextId++, path, (entries) =>
      hand.put(
        entries.map((e) => {
          if (e.target) this.targets.set(posix.join(path, e.name), e.target);
          return { name: e.name, ...toStat(e) };
        }),
      ),
    );
    listing.then(
      () => hand.end(),
      (err: unknown) => hand.end(err),
    );
    try {
      for (let b = await hand.take(); b !== undefined; b = await hand.take()) yield b;
    } finally {
      hand.leave();
    }
  }

  /**
   * stat(2) of `path`: from its listing for a symlink listed before (its target's attributes, or
   * the SFTP error its failure is), else one T request, which must not be asked while a listing
   * is half read (the walk asks T only for paths it did not list: see `targets`).
   */
  async stat(path: string): Promise<RemoteStat> {
    const known = this.targets.get(path);
    if (known) {
      this.targets.delete(path);
      if ('missing' in known) throw sftpError('stat', path, { code: 2 });
      if ('failed' in known) throw sftpError('stat', path, new Error(known.failed));
      return toStat(known);
    }
    return toStat(await this.ch.stat(this.nextId++, path, true));
  }

  /** lstat(2) of `path` (one T request; not while a listing is half read, as stat()). */
  async lstat(path: string): Promise<RemoteStat> {
    return toStat(await this.ch.stat(this.nextId++, path, false));
  }

  /** Ends the sender on the master. */
  end(): void {
    this.ch.end();
  }
}

/**
 * The block sender's wire format (cmd_standby --send-files on the master, block-sender.ts; the
 * standby's end, block-channel.ts): frames of [type: 1 byte][length: u32 BE][payload], both ways
 * over one SSH exec channel. Standby -> master: H hello, O open (id, path), B batch (id, offset,
 * blocks, the local copy's block hashes), C close (id), L list a directory (id, path), T stat
 * (id, follow symlinks?, path). Master -> standby: H hello, S stat of an opened file (id, size,
 * mtime), G gone (id), X error (id, message), D data (id, offset, raw length, compressed?,
 * bytes), E end of a batch or a listing (id), N names (id, entries: see packEntry), A attributes
 * (id, one entry without a name).
 */

/**
 * Block size of the compare: PostgreSQL writes relation files in place in 8 KiB pages (BLCKSZ)
 * and files never shift, so aligned fixed blocks of one page match what changes. Measured on a
 * re-sync after 5 s of pgbench (scale 20, 320 MB) on loopback: 8 KiB blocks sent 56.5 MB
 * (zstd: 8.1 MB), 32 KiB blocks 113.6 MB (zstd: 12.3 MB) for the same files: a larger block
 * re-sends the unchanged pages around each of pgbench's scattered updates; hashing 8 KiB blocks
 * costs ~15% more CPU than 32 KiB ones.
 */
export const BLOCK = 8192;
/**
 * Blocks per batch (1 MiB): one batch in flight per file, so a file holds at most this much.
 * At 30 ms round trip, 4 files per stream keep ~130 MB/s in flight per stream.
 */
export const BATCH_BLOCKS = 128;
/**
 * Hash of a block: SHA-1 (node:crypto), ~2.5 x MD5's speed on 8 KiB blocks on this machine's
 * CPU (SHA extensions; measured 217 vs 84 MB/s on one busy core). Not a security boundary: a
 * crafted collision needs write access to the master's data files, which already decides what
 * the copy holds; an accidental collision of two different blocks is 2^-160 per block compared,
 * far below a disk's undetected error rate.
 */
export const HASH_ALGO = 'sha1';
export const HASH_LEN = 20;
/** Protocol version in the hello frames (2: L, T, N and A, the walk's listings). */
export const PROTOCOL = 2;
/** Entries per N frame of a listing (a frame stays well under MAX_FRAME with names up to 255 bytes). */
export const LIST_FRAME_ENTRIES = 256;
/** Largest frame accepted (a batch's data plus headers): anything bigger is a broken stream. */
const MAX_FRAME = 2 * BATCH_BLOCKS * BLOCK + 4096;

/** One frame: type letter and payload. */
export interface Frame {
  type: string;
  body: Buffer;
}

/** A frame as bytes. */
export function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(type.charCodeAt(0), 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** u32 id + utf8 text. */
export function idText(id: number, text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  const b = Buffer.allocUnsafe(4 + t.length);
  b.writeUInt32BE(id, 0);
  t.copy(b, 4);
  return b;
}

/** u32 id alone. */
export function idOnly(id: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(id, 0);
  return b;
}

/** Splits a byte stream into frames (chunks may cut a frame anywhere). Throws on a frame larger than any we send. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private held = 0;

  /** Adds bytes; returns the frames now complete. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.held += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.held < 5) return out;
      if (this.chunks[0]!.length < 5) this.chunks = [Buffer.concat(this.chunks)];
      const len = this.chunks[0]!.readUInt32BE(1);
      if (len > MAX_FRAME) throw new Error(`block sender protocol: a frame of ${len} bytes (broken stream)`);
      // Joined only once the whole frame is here: a 1 MiB frame in 32 KiB chunks is copied once.
      if (this.held < 5 + len) return out;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      out.push({ type: String.fromCharCode(all[0]!), body: all.subarray(5, 5 + len) });
      const rest = all.subarray(5 + len);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.held = rest.length;
    }
  }

  /** Bytes of an unfinished frame. */
  get pending(): number {
    return this.held;
  }
}

/** What a listing says of one entry: lstat(2)'s fields the walk uses, and for a symlink what stat(2) says of its target. */
export interface EntryAttrs {
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes. */
  size: number;
  /** Whole seconds since the epoch, as SFTP v3 carries them (the walk compares them with the local copy's). */
  mtime: number;
  atime: number;
}

/** What stat(2) said of a symlink's target when it failed: not there (ENOENT, ENOTDIR, ELOOP), or another error in the master's words. */
export type TargetError = { missing: true } | { failed: string };

/**
 * A listed entry: its name, its own attributes, and for a symlink what stat(2) says of its
 * target, attributes or error (absent: not a symlink). The walk stats every symlink it copies;
 * with the answer in the listing it never asks while a listing is half read (see sender-walk.ts).
 */
export interface ListedEntry extends EntryAttrs {
  name: string;
  target?: EntryAttrs | TargetError | undefined;
}

const ATTRS_LEN = 4 + 4 + 4 + 8 + 8 + 8;

function putAttrs(b: Buffer, at: number, a: EntryAttrs): number {
  b.writeUInt32BE(a.mode >>> 0, at);
  b.writeUInt32BE(a.uid >>> 0, at + 4);
  b.writeUInt32BE(a.gid >>> 0, at + 8);
  b.writeDoubleBE(a.size, at + 12);
  b.writeDoubleBE(a.mtime, at + 20);
  b.writeDoubleBE(a.atime, at + 28);
  return at + ATTRS_LEN;
}

function getAttrs(b: Buffer, at: number): EntryAttrs {
  return {
    mode: b.readUInt32BE(at),
    uid: b.readUInt32BE(at + 4),
    gid: b.readUInt32BE(at + 8),
    size: b.readDoubleBE(at + 12),
    mtime: b.readDoubleBE(at + 20),
    atime: b.readDoubleBE(at + 28),
  };
}

/**
 * An N (or A) frame's body: u32 id, then per entry u16 name length, name, attributes, u8 target
 * kind (0 none, 1 attributes follow, 2 missing, 3 failed: u16 length and the error's words follow).
 */
export function packEntries(id: number, entries: readonly ListedEntry[]): Buffer {
  const names = entries.map((e) => Buffer.from(e.name, 'utf8'));
  const words = entries.map((e) => (e.target && 'failed' in e.target ? Buffer.from(e.target.failed.slice(0, 1000), 'utf8') : undefined));
  const targetLen = (e: ListedEntry, i: number): number => (!e.target || 'missing' in e.target ? 0 : 'failed' in e.target ? 2 + words[i]!.length : ATTRS_LEN);
  const len = 4 + entries.reduce((n, e, i) => n + 2 + names[i]!.length + ATTRS_LEN + 1 + targetLen(e, i), 0);
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(id, 0);
  let at = 4;
  entries.forEach((e, i) => {
    const name = names[i]!;
    b.writeUInt16BE(name.length, at);
    name.copy(b, at + 2);
    at = putAttrs(b, at + 2 + name.length, e);
    const t = e.target;
    if (!t) b.writeUInt8(0, at++);
    else if ('missing' in t) b.writeUInt8(2, at++);
    else if ('failed' in t) {
      b.writeUInt8(3, at++);
      b.writeUInt16BE(words[i]!.length, at);
      words[i]!.copy(b, at + 2);
      at += 2 + words[i]!.length;
    } else {
      b.writeUInt8(1, at++);
      at = putAttrs(b, at, t);
    }
  });
  return b;
}

/** The entries of an N (or A) frame's body. Throws on a body that does not parse (a broken stream). */
export function unpackEntries(body: Buffer): ListedEntry[] {
  const out: ListedEntry[] = [];
  let at = 4;
  while (at < body.length) {
    const n = body.readUInt16BE(at);
    const name = body.subarray(at + 2, at + 2 + n).toString('utf8');
    at += 2 + n;
    const attrs = getAttrs(body, at);
    at += ATTRS_LEN;
    const kind = body.readUInt8(at++);
    let target: ListedEntry['target'];
    if (kind === 1) {
      target = getAttrs(body, at);
      at += ATTRS_LEN;
    } else if (kind === 2) target = { missing: true };
    else if (kind === 3) {
      const n = body.readUInt16BE(at);
      target = { failed: body.subarray(at + 2, at + 2 + n).toString('utf8') };
      at += 2 + n;
    } else if (kind !== 0) throw new Error('block sender protocol: a listing frame that does not parse');
    out.push({ name, ...attrs, target });
  }
  if (at !== body.length) throw new Error('block sender protocol: a listing frame that does not parse');
  return out;
}

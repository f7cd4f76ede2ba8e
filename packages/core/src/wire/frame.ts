/**
 * The WAL stream protocol between cmd_archiver and its receiver on the slave (cmd_standby
 * --receive-wal-stream), over one SSH exec channel: stdin carries requests, stdout answers.
 * A header frame is a 4-byte big-endian length and a JSON header. The receiver first sends a
 * hello; then, per file, the sender sends a `file` header (name, original size in bytes,
 * algorithm, piece size), the file's pieces in order, and an `end` header with the SHA-256 of
 * the original bytes. Piece i holds bytes [i x piece, min(size, (i+1) x piece)) of the file,
 * compressed on their own: a 4-byte big-endian length, then that many bytes. So neither side
 * holds a whole compressed file, and the sender starts sending before it has read the file to
 * the end (version 1 sent one payload with its length and hash first: a compressed segment was
 * allocated whole, per segment, and cmd_queue peaked at 163-197 MB on incompressible WAL). The
 * sender may send more files before the first answer comes (pipelined); the receiver answers
 * each file, in order.
 */
import { createHash } from 'node:crypto';
import { PitrError } from '../errors.js';
import type { CompressAlgo } from '../compress.js';

/**
 * Protocol version in the hello; a receiver of another version is treated like a missing one.
 * The sender does not wait for the hello (openWalStream), so a receiver must refuse another
 * version's frames by itself: version 1 required `clen` and `sha256` in a file header, which
 * version 2's has not; a version 3 must change the file header so that parseHeader() here
 * refuses it (and nothing is stored without its end frame's SHA-256 anyway).
 */
export const WIRE_VERSION = 2;

/** Largest header we accept (a header is ~200 bytes). */
export const MAX_HEADER = 64 * 1024;

/** Largest file the stream carries (the receiver holds the file whole to compare it): 64 MiB; bigger WAL segments go over SFTP. */
export const MAX_FILE = 64 * 1024 * 1024;

/** Bytes of the original file per piece (the sender's choice, in the header): 1 MiB. */
export const PIECE_BYTES = 1024 * 1024;

/** Piece sizes a header may announce, bytes. */
const MIN_PIECE = 4096;
const MAX_PIECE = 16 * 1024 * 1024;

/** Most compressed bytes a piece of `piece` original bytes may hold (above every codec's bound). */
export function maxPieceLength(piece: number): number {
  return piece + Math.ceil(piece / 8) + 65536;
}

/** A file begins: `size` bytes of original data follow in pieces of `piece` bytes, compressed with `algo`. */
export interface FileHeader {
  t: 'file';
  name: string;
  size: number;
  algo: CompressAlgo;
  piece: number;
}

/** A file's pieces are all sent: `sha256` of its original bytes. */
export interface EndHeader {
  t: 'end';
  name: string;
  sha256: string;
}

/** The receiver's first frame. */
export interface HelloHeader {
  t: 'hello';
  v: number;
}

/** The answer to one file, in request order. stored/same mean fsynced under its name. */
export type Answer =
  | { t: 'answer'; name: string; status: 'stored' | 'same' }
  /** A different file has the name; left untouched. */
  | { t: 'answer'; name: string; status: 'conflict'; size: number; sha256: string; theirSize: number; theirSha256: string }
  /** Not stored: `code` is the errno (ENOSPC...) or a PitrError code (COMPRESS_CORRUPT), `message` a sentence. */
  | { t: 'answer'; name: string; status: 'error'; code: string; message: string };

/** Any frame header. */
export type Header = FileHeader | EndHeader | HelloHeader | Answer;

/** A decoded frame: a header, or one piece of the current file (its compressed bytes). */
export type Frame = { header: Header } | { piece: Buffer };

/** Pieces of a file of `size` bytes cut at `piece` bytes. */
export function pieceCount(size: number, piece: number): number {
  return Math.ceil(size / piece);
}

/** SHA-256 of `data`, hex. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Encodes a header frame (length, then the JSON). */
export function encodeFrame(header: Header): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.allocUnsafe(4 + json.length);
  head.writeUInt32BE(json.length, 0);
  json.copy(head, 4);
  return head;
}

const bad = (why: string): PitrError => new PitrError('WIRE_PROTOCOL', `WAL stream: ${why}`);

function checkHeader(x: unknown): Header {
  if (!x || typeof x !== 'object') throw bad('a frame header is not an object');
  const h = x as Record<string, unknown>;
  if (h.t === 'file') {
    const okNum = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
    if (typeof h.name !== 'string' || !okNum(h.size, 0, MAX_FILE) || !okNum(h.piece, MIN_PIECE, MAX_PIECE)) {
      throw bad(`a file header is malformed: ${JSON.stringify(h).slice(0, 200)}`);
    }
    if (h.algo !== 'none' && h.algo !== 'lz4' && h.algo !== 'zstd') throw bad(`unknown algorithm ${String(h.algo)}`);
    return h as unknown as FileHeader;
  }
  if (h.t === 'end' && typeof h.name === 'string' && typeof h.sha256 === 'string') return h as unknown as EndHeader;
  if (h.t === 'hello' && typeof h.v === 'number') return h as unknown as HelloHeader;
  if (h.t === 'answer' && typeof h.name === 'string' && typeof h.status === 'string') return h as unknown as Answer;
  throw bad(`unknown frame ${JSON.stringify(h).slice(0, 200)}`);
}

/**
 * Incremental decoder: push() the bytes as they come (any split), get the frames completed so far.
 * After a `file` header it reads that file's pieces and then requires its `end` header. Throws
 * PitrError WIRE_PROTOCOL on a malformed or oversized header or piece, or frames out of order;
 * end() throws it when bytes of an incomplete frame or file are left (a truncated stream).
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private have = 0;
  /** The file whose pieces are being read: pieces still to come, and the most bytes one may hold. */
  private file: { name: string; left: number; max: number } | undefined;
  /** Length of the frame being read once its 4-byte prefix is in. */
  private len: number | undefined;

  /** Feeds bytes; returns the frames they complete. */
  push(chunk: Buffer): Frame[] {
    this.parts.push(chunk);
    this.have += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.len === undefined) {
        if (this.have < 4) break;
        const len = this.take(4).readUInt32BE(0);
        const inPiece = this.file !== undefined && this.file.left > 0;
        if (inPiece && len > this.file!.max) throw bad(`a piece of ${len} bytes (at most ${this.file!.max}) in ${this.file!.name}`);
        if (!inPiece && (len === 0 || len > MAX_HEADER)) throw bad(`a frame header of ${len} bytes (at most ${MAX_HEADER})`);
        this.len = len;
      }
      if (this.have < this.len) break;
      const bytes = this.take(this.len);
      this.len = undefined;
      if (this.file !== undefined && this.file.left > 0) {
        this.file.left--;
        out.push({ piece: bytes });
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw bad('a frame header is not JSON');
      }
      const header = checkHeader(parsed);
      if (this.file !== undefined) {
        if (header.t !== 'end' || header.name !== this.file.name) throw bad(`a ${header.t} frame where the end of ${this.file.name} was due`);
        this.file = undefined;
      } else if (header.t === 'end') throw bad(`the end of ${header.name}, which was not begun`);
      else if (header.t === 'file') this.file = { name: header.name, left: pieceCount(header.size, header.piece), max: maxPieceLength(header.piece) };
      out.push({ header });
    }
    return out;
  }

  /** Bytes received of a frame not yet complete. */
  get pending(): number {
    return this.have;
  }

  /** At the end of the stream: throws WIRE_PROTOCOL when a frame or a file was cut short. */
  end(): void {
    if (this.have > 0 || this.len !== undefined) throw bad(`the stream ended inside a frame (${this.have} bytes of it received)`);
    if (this.file !== undefined) throw bad(`the stream ended inside ${this.file.name}`);
  }

  private take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.have);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.parts = rest.length > 0 ? [rest] : [];
    this.have = rest.length;
    return head;
  }
}

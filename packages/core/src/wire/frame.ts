/**
 * The WAL stream protocol between cmd_archiver and its receiver on the slave (cmd_standby
 * --receive-wal-stream), over one SSH exec channel: stdin carries requests, stdout answers.
 * Every frame is a 4-byte big-endian header length, a JSON header, then `clen` payload bytes
 * (requests only). The receiver first sends a hello; then, per file, the sender sends a request
 * (name, original size, algorithm, compressed length, SHA-256 of the original bytes, then the
 * compressed bytes) and may send more before the first answer comes (pipelined); the receiver
 * answers each request, in order.
 */
import { createHash } from 'node:crypto';
import { PitrError } from '../errors.js';
import type { CompressAlgo } from '../compress.js';

/** Protocol version in the hello; a receiver of another version is treated like a missing one. */
export const WIRE_VERSION = 1;

/** Largest header we accept (a header is ~200 bytes). */
export const MAX_HEADER = 64 * 1024;

/** Largest file one frame carries (the codec works on whole buffers): 64 MiB; bigger WAL segments go over SFTP. */
export const MAX_FILE = 64 * 1024 * 1024;

/** One file sent: `size` and `sha256` are of the original bytes, `clen` of the payload that follows. */
export interface FileHeader {
  t: 'file';
  name: string;
  size: number;
  algo: CompressAlgo;
  clen: number;
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
export type Header = FileHeader | HelloHeader | Answer;

/** A decoded frame: its header and (for a file) the payload. */
export interface Frame {
  header: Header;
  payload: Buffer;
}

/** SHA-256 of `data`, hex. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Encodes a frame as the buffers to write (length+header, then the payload if any). */
export function encodeFrame(header: Header, payload?: Buffer): Buffer[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.allocUnsafe(4 + json.length);
  head.writeUInt32BE(json.length, 0);
  json.copy(head, 4);
  return payload && payload.length > 0 ? [head, payload] : [head];
}

const bad = (why: string): PitrError => new PitrError('WIRE_PROTOCOL', `WAL stream: ${why}`);

function checkHeader(x: unknown): Header {
  if (!x || typeof x !== 'object') throw bad('a frame header is not an object');
  const h = x as Record<string, unknown>;
  if (h.t === 'file') {
    const okNum = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
    if (typeof h.name !== 'string' || !okNum(h.size, MAX_FILE) || !okNum(h.clen, MAX_FILE + 1024 * 1024) || typeof h.sha256 !== 'string') {
      throw bad(`a file header is malformed: ${JSON.stringify(h).slice(0, 200)}`);
    }
    if (h.algo !== 'none' && h.algo !== 'lz4' && h.algo !== 'zstd') throw bad(`unknown algorithm ${String(h.algo)}`);
    return h as unknown as FileHeader;
  }
  if (h.t === 'hello' && typeof h.v === 'number') return h as unknown as HelloHeader;
  if (h.t === 'answer' && typeof h.name === 'string' && typeof h.status === 'string') return h as unknown as Answer;
  throw bad(`unknown frame ${JSON.stringify(h).slice(0, 200)}`);
}

/**
 * Incremental decoder: push() the bytes as they come (any split), get the frames completed so far.
 * Throws PitrError WIRE_PROTOCOL on a malformed or oversized header; end() throws it when bytes of
 * an incomplete frame are left (a truncated stream).
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private have = 0;
  private header: Header | undefined;
  private need = 4;

  /** Feeds bytes; returns the frames they complete. */
  push(chunk: Buffer): Frame[] {
    this.parts.push(chunk);
    this.have += chunk.length;
    const out: Frame[] = [];
    while (this.have >= this.need) {
      if (this.header === undefined) {
        const buf = this.take(4);
        const len = buf.readUInt32BE(0);
        if (len === 0 || len > MAX_HEADER) throw bad(`a frame header of ${len} bytes (at most ${MAX_HEADER})`);
        if (this.have < len) {
          this.unshift(buf);
          this.need = 4 + len;
          break;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(this.take(len).toString('utf8'));
        } catch {
          throw bad('a frame header is not JSON');
        }
        this.header = checkHeader(parsed);
        this.need = this.header.t === 'file' ? this.header.clen : 0;
      }
      if (this.have < this.need) break;
      const payload = this.need > 0 ? this.take(this.need) : Buffer.alloc(0);
      out.push({ header: this.header, payload });
      this.header = undefined;
      this.need = 4;
    }
    return out;
  }

  /** Bytes received of a frame not yet complete. */
  get pending(): number {
    return this.have;
  }

  /** At the end of the stream: throws WIRE_PROTOCOL when a frame was cut short. */
  end(): void {
    if (this.have > 0 || this.header !== undefined) throw bad(`the stream ended inside a frame (${this.have} bytes of it received)`);
  }

  private take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.have);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.parts = rest.length > 0 ? [rest] : [];
    this.have = rest.length;
    return head;
  }

  private unshift(b: Buffer): void {
    this.parts.unshift(b);
    this.have += b.length;
  }
}

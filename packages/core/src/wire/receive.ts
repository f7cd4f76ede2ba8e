/**
 * The slave's side of the WAL stream (cmd_standby --receive-wal-stream DIR): says hello, then
 * for each file decompresses its pieces as they come, checks the SHA-256 of the original bytes
 * against its end frame, stores it with placeFile and answers, in order. A file whose pieces do
 * not decompress, or not to the announced bytes, is answered COMPRESS_CORRUPT and nothing is written. A malformed or cut frame
 * ends the stream (WIRE_PROTOCOL thrown after the answers so far).
 */
import { createHash, type Hash } from 'node:crypto';
import { codecFor, type Codec, type CompressAlgo } from '../compress.js';
import { errorCode, PitrError } from '../errors.js';
import { encodeFrame, FrameReader, WIRE_VERSION, type Answer, type EndHeader, type FileHeader, type Header } from './frame.js';
import { placeFile, type PlaceFs } from './place.js';

/** Where answers go: write() may return false (then wait for 'drain' is not needed: answers are small). */
export interface AnswerSink {
  write(data: Buffer): unknown;
}

/** Options of receiveStream. */
export interface ReceiveOptions {
  /** fsync the directory after each link (remote_dir_fsync); default true. */
  dirFsync?: boolean;
  /**
   * Asked once, before the first file is stored: a sentence refuses every file of the stream
   * (answered EACCES, which cmd_archiver reads as the SFTP path's permission denied), e.g. a
   * directory that is not ours alone (fs/ownership.ts); undefined lets them be stored.
   */
  refuseDir?: () => Promise<string | undefined>;
}

/** True for a name that can only mean a file in `dir` (no path, not . or .., no NUL). */
export function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** An errno or PitrError as a sentence for the answer, e.g. "no space left on device (ENOSPC)". */
function describe(err: unknown): { code: string; message: string } {
  if (err instanceof PitrError) return { code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException;
  const code = errorCode(err) ?? 'EIO';
  const why = (e.message ?? String(err)).replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
  return { code, message: `${e.syscall ?? 'store'} failed: ${why} (${code})` };
}

/** The file whose pieces are arriving. */
interface Incoming {
  h: FileHeader;
  codec: Codec | undefined;
  /** Where its original bytes are rebuilt (h.size bytes, reused from file to file). */
  data: Buffer;
  off: number;
  hash: Hash;
  /** The first failure: the rest of its pieces are read and dropped, and the answer says it. */
  error?: unknown;
}

/** Answers a completed file: its bytes were checked against `end`'s SHA-256, then stored with placeFile. Never throws. */
async function finishFile(fs: PlaceFs, dir: string, f: Incoming, end: EndHeader, opts: ReceiveOptions, refusal: Promise<string | undefined>): Promise<Answer> {
  const name = f.h.name;
  try {
    if (f.error !== undefined) throw f.error;
    const refused = await refusal;
    if (refused !== undefined) return { t: 'answer', name, status: 'error', code: 'EACCES', message: refused };
    const got = f.hash.digest('hex');
    if (got !== end.sha256)
      throw new PitrError(
        'COMPRESS_CORRUPT',
        `${f.h.algo} data of ${name} decompressed to other bytes than were sent (SHA-256 ${got}, ${end.sha256} expected)`,
      );
    const data = f.data.subarray(0, f.h.size);
    const placed = await placeFile(fs, dir, name, data, opts.dirFsync ?? true);
    if (placed.status === 'conflict')
      return { t: 'answer', name, status: 'conflict', size: f.h.size, sha256: end.sha256, theirSize: placed.theirSize, theirSha256: placed.theirSha256 };
    return { t: 'answer', name, status: placed.status };
  } catch (err) {
    return { t: 'answer', name, status: 'error', ...describe(err) };
  }
}

/**
 * Runs the receiver over `input` until it ends; answers go to `out`, one per file, in order.
 * Memory: one buffer of the largest file so far (reused) and the piece being read. Returns the
 * files answered; throws WIRE_PROTOCOL on a malformed or truncated stream (after the answers so far).
 */
export async function receiveStream(input: AsyncIterable<Buffer>, out: AnswerSink, fs: PlaceFs, dir: string, opts: ReceiveOptions = {}): Promise<number> {
  const send = (h: Header): void => {
    out.write(encodeFrame(h));
  };
  send({ t: 'hello', v: WIRE_VERSION });
  const reader = new FrameReader();
  const codecs = new Map<CompressAlgo, Codec>();
  let buf = Buffer.alloc(0);
  let cur: Incoming | undefined;
  let files = 0;
  let refusal: Promise<string | undefined> | undefined;
  for await (const chunk of input) {
    for (const f of reader.push(chunk)) {
      if ('piece' in f) {
        // The reader only yields pieces between a file's header and its end.
        const c = cur!;
        const n = Math.min(c.h.piece, c.h.size - c.off);
        if (c.error === undefined) {
          try {
            const dest = c.data.subarray(c.off, c.off + n);
            c.codec!.decompressInto(f.piece, dest);
            c.hash.update(dest);
          } catch (err) {
            c.error = err;
          }
        }
        c.off += n;
        continue;
      }
      const h = f.header;
      if (h.t === 'file') {
        if (buf.length < h.size) buf = Buffer.allocUnsafe(h.size);
        cur = { h, codec: undefined, data: buf, off: 0, hash: createHash('sha256') };
        try {
          if (!isPlainName(h.name)) throw new PitrError('WIRE_PROTOCOL', `WAL stream: not a plain file name: ${JSON.stringify(h.name)}`);
          let codec = codecs.get(h.algo);
          if (codec === undefined) codecs.set(h.algo, (codec = codecFor({ algo: h.algo, level: 1 })));
          cur.codec = codec;
        } catch (err) {
          cur.error = err;
        }
      } else if (h.t === 'end') {
        refusal ??= opts.refuseDir?.() ?? Promise.resolve(undefined);
        send(await finishFile(fs, dir, cur!, h, opts, refusal));
        cur = undefined;
        files++;
      } else throw new PitrError('WIRE_PROTOCOL', `WAL stream: a ${h.t} frame where a file was expected`);
    }
  }
  reader.end();
  return files;
}

/**
 * The slave's side of the WAL stream (cmd_standby --receive-wal-stream DIR): says hello, then
 * for each file frame decompresses, checks size and SHA-256 of the original bytes, stores it
 * with placeFile and answers, in order. A file whose payload does not decompress, or not to the
 * announced bytes, is answered COMPRESS_CORRUPT and nothing is written. A malformed or cut frame
 * ends the stream (WIRE_PROTOCOL thrown after the answers so far).
 */
import { codecFor, type Codec, type CompressAlgo } from '../compress.js';
import { errorCode, PitrError } from '../errors.js';
import { encodeFrame, FrameReader, sha256, WIRE_VERSION, type Answer, type FileHeader, type Header } from './frame.js';
import { placeFile, type PlaceFs } from './place.js';

/** Where answers go: write() may return false (then wait for 'drain' is not needed: answers are small). */
export interface AnswerSink {
  write(data: Buffer): unknown;
}

/** Options of receiveStream. */
export interface ReceiveOptions {
  /** fsync the directory after each link (remote_dir_fsync); default true. */
  dirFsync?: boolean;
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

/** Handles one file frame; never throws (every failure becomes an answer). */
export async function receiveFile(
  fs: PlaceFs,
  dir: string,
  h: FileHeader,
  payload: Buffer,
  codecs: Map<CompressAlgo, Codec>,
  opts: ReceiveOptions = {},
): Promise<Answer> {
  const name = h.name;
  try {
    if (!isPlainName(name)) throw new PitrError('WIRE_PROTOCOL', `WAL stream: not a plain file name: ${JSON.stringify(name)}`);
    let codec = codecs.get(h.algo);
    if (codec === undefined) codecs.set(h.algo, (codec = codecFor({ algo: h.algo, level: 1 })));
    const data = codec.decompress(payload, h.size);
    const got = sha256(data);
    if (got !== h.sha256)
      throw new PitrError('COMPRESS_CORRUPT', `${h.algo} data of ${name} decompressed to other bytes than were sent (SHA-256 ${got}, ${h.sha256} expected)`);
    const placed = await placeFile(fs, dir, name, data, opts.dirFsync ?? true);
    if (placed.status === 'conflict')
      return { t: 'answer', name, status: 'conflict', size: h.size, sha256: h.sha256, theirSize: placed.theirSize, theirSha256: placed.theirSha256 };
    return { t: 'answer', name, status: placed.status };
  } catch (err) {
    return { t: 'answer', name, status: 'error', ...describe(err) };
  }
}

/** Runs the receiver over `input` until it ends; answers go to `out`. Throws WIRE_PROTOCOL on a malformed or truncated stream. */
export async function receiveStream(input: AsyncIterable<Buffer>, out: AnswerSink, fs: PlaceFs, dir: string, opts: ReceiveOptions = {}): Promise<number> {
  const send = (h: Header): void => {
    for (const b of encodeFrame(h)) out.write(b);
  };
  send({ t: 'hello', v: WIRE_VERSION });
  const reader = new FrameReader();
  const codecs = new Map<CompressAlgo, Codec>();
  let files = 0;
  for await (const chunk of input) {
    for (const f of reader.push(chunk)) {
      if (f.header.t !== 'file') throw new PitrError('WIRE_PROTOCOL', `WAL stream: a ${f.header.t} frame where a file was expected`);
      send(await receiveFile(fs, dir, f.header, f.payload, codecs, opts));
      files++;
    }
  }
  reader.end();
  return files;
}

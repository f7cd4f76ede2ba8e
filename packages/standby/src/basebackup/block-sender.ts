/**
 * The master's end of block re-sync (cmd_standby --send-files, run by -B over an SSH exec
 * channel as rsync runs its remote side): reads requests on stdin, reads each file where it is,
 * compares it block by block with the hashes of the standby's copy and answers on stdout with the
 * blocks that differ only, compressed (@pitrtools/core/compress). Requests are served one after
 * the other: the standby keeps a few files' batches queued, so the pipe stays busy, and this
 * process holds one batch (1 MiB) at a time. It also lists directories for -B's walk (L, T): a
 * whole directory in one answer instead of SFTP's round trip per 100 entries.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { codecFor, parseCompress, type Codec } from '@pitrtools/core/compress';
import { errorCode, errorMessage } from '@pitrtools/core/errors';
import type { Stats } from 'node:fs';
import {
  BATCH_BLOCKS,
  BLOCK,
  FrameReader,
  HASH_ALGO,
  HASH_LEN,
  LIST_FRAME_ENTRIES,
  PROTOCOL,
  frame,
  idOnly,
  idText,
  packEntries,
  type EntryAttrs,
  type Frame,
  type ListedEntry,
} from './block-frames.js';

interface OpenFile {
  fh: FileHandle;
  size: number;
}

/** Serves requests from `input` until it ends, writing answers through `write` (which waits while the pipe is full). */
export async function serveSendFiles(input: AsyncIterable<Buffer>, write: (b: Buffer) => Promise<void>): Promise<void> {
  const reader = new FrameReader();
  const files = new Map<number, OpenFile>();
  const buf = Buffer.alloc(BATCH_BLOCKS * BLOCK);
  let codec: Codec | undefined;

  const handle = async (f: Frame): Promise<void> => {
    switch (f.type) {
      case 'H': {
        const hello = JSON.parse(f.body.toString('utf8')) as { v: number; compress: string };
        const spec = parseCompress(hello.compress);
        codec = spec.algo === 'none' ? undefined : codecFor(spec);
        await write(frame('H', Buffer.from(JSON.stringify({ v: PROTOCOL, block: BLOCK }), 'utf8')));
        return;
      }
      case 'O': {
        const id = f.body.readUInt32BE(0);
        const path = f.body.subarray(4).toString('utf8');
        try {
          const fh = await fsp.open(path, 'r');
          const st = await fh.stat();
          if (!st.isFile()) {
            await fh.close();
            await write(frame('X', idText(id, `${path} is not a regular file`)));
            return;
          }
          files.set(id, { fh, size: st.size });
          const b = Buffer.allocUnsafe(20);
          b.writeUInt32BE(id, 0);
          b.writeDoubleBE(st.size, 4);
          b.writeDoubleBE(Math.floor(st.mtimeMs / 1000), 12);
          await write(frame('S', b));
        } catch (err) {
          // Dropped tables, finished temp files: gone since the standby listed them.
          if (errorCode(err) === 'ENOENT') await write(frame('G', idOnly(id)));
          else await write(frame('X', idText(id, `cannot read ${path} on the master: ${errorMessage(err)}`)));
        }
        return;
      }
      case 'B': {
        const id = f.body.readUInt32BE(0);
        const offset = f.body.readDoubleBE(4);
        const blocks = f.body.readUInt32BE(12);
        const nhash = f.body.readUInt32BE(16);
        const hashes = f.body.subarray(20, 20 + nhash * HASH_LEN);
        const file = files.get(id);
        if (file)
          await sendBatch(
            file,
            offset,
            Math.min(blocks, BATCH_BLOCKS),
            nhash,
            hashes,
            buf,
            codec,
            (d) => write(frame('D', Buffer.concat([d.head, d.data]))),
            id,
          );
        await write(frame('E', idOnly(id)));
        return;
      }
      case 'C': {
        const id = f.body.readUInt32BE(0);
        await files.get(id)?.fh.close();
        files.delete(id);
        return;
      }
      case 'L': {
        const id = f.body.readUInt32BE(0);
        await listDir(id, f.body.subarray(4).toString('utf8'), write);
        return;
      }
      case 'T': {
        const id = f.body.readUInt32BE(0);
        const follow = f.body.readUInt8(4) === 1;
        const path = f.body.subarray(5).toString('utf8');
        try {
          const st = await (follow ? fsp.stat(path) : fsp.lstat(path));
          await write(frame('A', packEntries(id, [{ name: '', ...attrsOf(st) }])));
        } catch (err) {
          await write(notThere(id, path, err));
        }
        return;
      }
      default:
        throw new Error(`block sender protocol: unknown frame type ${JSON.stringify(f.type)}`);
    }
  };

  try {
    for await (const chunk of input) for (const f of reader.push(chunk)) await handle(f);
  } finally {
    for (const f of files.values()) await f.fh.close().catch(() => undefined);
  }
}

/**
 * Errnos that mean "not there", as OpenSSH's sftp-server maps them (errno_to_portable():
 * SSH2_FX_NO_SUCH_FILE), so the walk fails or goes on exactly as over SFTP.
 */
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EBADF']);

/** G for a path that is not there, else X with why. */
function notThere(id: number, path: string, err: unknown): Buffer {
  return NOT_THERE.has(errorCode(err) ?? '') ? frame('G', idOnly(id)) : frame('X', idText(id, `${path}: ${errorMessage(err)}`));
}

function attrsOf(st: Stats): EntryAttrs {
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtime: Math.floor(st.mtimeMs / 1000), atime: Math.floor(st.atimeMs / 1000) };
}

/** lstat(2)s of a listing done at once (the master's disk queue, not a round trip each). */
const LSTAT_PARALLEL = 32;

/**
 * Answers L: the directory's entries (lstat, as OpenSSH's SFTP readdir gives them; a symlink also
 * with what stat(2) says of its target, attributes or error) in N frames of LIST_FRAME_ENTRIES,
 * then E; G (then E) when the directory is not there, X (then E) when it cannot be read. Holds
 * one frame's entries at a time. An entry whose lstat fails (it vanished since readdir, or
 * cannot be read) is left out, as sftp-server's readdir leaves it out.
 */
async function listDir(id: number, path: string, write: (b: Buffer) => Promise<void>): Promise<void> {
  let dir;
  try {
    dir = await fsp.opendir(path);
  } catch (err) {
    await write(Buffer.concat([notThere(id, path, err), frame('E', idOnly(id))]));
    return;
  }
  const one = async (name: string): Promise<ListedEntry | undefined> => {
    const full = `${path}/${name}`;
    const st = await fsp.lstat(full).catch(() => undefined);
    if (!st) return undefined;
    const target = st.isSymbolicLink()
      ? await fsp.stat(full).then(attrsOf, (err: unknown) => (NOT_THERE.has(errorCode(err) ?? '') ? { missing: true as const } : { failed: errorMessage(err) }))
      : undefined;
    return { name, ...attrsOf(st), target };
  };
  try {
    let names: string[] = [];
    let batch: ListedEntry[] = [];
    const flush = async (): Promise<void> => {
      for (const e of await Promise.all(names.map(one))) if (e) batch.push(e);
      names = [];
      if (batch.length >= LIST_FRAME_ENTRIES) {
        await write(frame('N', packEntries(id, batch)));
        batch = [];
      }
    };
    for await (const d of dir) {
      names.push(d.name);
      if (names.length >= LSTAT_PARALLEL) await flush();
    }
    await flush();
    if (batch.length > 0) await write(frame('N', packEntries(id, batch)));
  } catch (err) {
    await write(frame('X', idText(id, `${path}: ${errorMessage(err)}`)));
  }
  await write(frame('E', idOnly(id)));
}

/**
 * One batch: the file's bytes in [offset, offset + blocks x BLOCK), up to the size it had when
 * opened. Bytes a truncation took meanwhile read as zeros and growth is left out, as
 * pg_basebackup's sendFile() does (src/backend/backup/basebackup.c): WAL replay from the
 * backup's start puts such a file right. Runs of blocks that differ from the standby's hashes
 * (the first `nhash` blocks have one; the rest are sent whole) go out as one D frame each.
 */
async function sendBatch(
  file: OpenFile,
  offset: number,
  blocks: number,
  nhash: number,
  hashes: Buffer,
  buf: Buffer,
  codec: Codec | undefined,
  send: (d: { head: Buffer; data: Buffer }) => Promise<void>,
  id: number,
): Promise<void> {
  const len = Math.max(0, Math.min(blocks * BLOCK, file.size - offset));
  if (len === 0) return;
  let got = 0;
  while (got < len) {
    const { bytesRead } = await file.fh.read(buf, got, len - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  buf.fill(0, got, len);
  let runStart = -1;
  const flush = async (end: number): Promise<void> => {
    if (runStart < 0) return;
    const raw = buf.subarray(runStart, end);
    const packed = codec?.compress(raw);
    const compressed = packed !== undefined && packed.length < raw.length;
    const head = Buffer.allocUnsafe(17);
    head.writeUInt32BE(id, 0);
    head.writeDoubleBE(offset + runStart, 4);
    head.writeUInt32BE(raw.length, 12);
    head.writeUInt8(compressed ? 1 : 0, 16);
    runStart = -1;
    await send({ head, data: compressed ? packed : raw });
  };
  for (let i = 0, at = 0; at < len; i++, at += BLOCK) {
    const end = Math.min(at + BLOCK, len);
    const same =
      i < nhash &&
      createHash(HASH_ALGO)
        .update(buf.subarray(at, end))
        .digest()
        .equals(hashes.subarray(i * HASH_LEN, (i + 1) * HASH_LEN));
    if (same) await flush(at);
    else if (runStart < 0) runStart = at;
  }
  await flush(len);
}

/**
 * `cmd_standby --receive-wal-stream DIR [--no-dir-fsync]`: the slave's end of cmd_archiver's
 * compressed WAL stream (compress), started by cmd_archiver over an SSH exec channel as rsync
 * and pgBackRest start their remote side. Reads frames on stdin, stores each file durably in DIR
 * as plain WAL (core/wire/place.ts: the rules of the SFTP upload), answers on stdout. Not for
 * people: hidden from --help, documented in docs/cmd_archiver.md.
 */
import { receiveStream } from '@pitrtools/core/wire/receive';
import { nodePlaceFs } from '@pitrtools/core/wire/node-place-fs';
import { ownDirProblem } from '@pitrtools/core/fs/ownership';

/** Options of receiveWalStream. */
export interface ReceiveWalStreamOptions {
  /** r_archivedir, as cmd_archiver names it. */
  dir: string;
  /** remote_dir_fsync of that slave. */
  dirFsync: boolean;
}

/** Runs the receiver on stdin/stdout until cmd_archiver ends the stream; returns the files handled. Throws WIRE_PROTOCOL on a malformed stream. */
export async function receiveWalStream(o: ReceiveWalStreamOptions): Promise<number> {
  const n = await receiveStream(process.stdin, process.stdout, nodePlaceFs, o.dir, {
    dirFsync: o.dirFsync,
    // The rule of our own directories (fs/ownership.ts), as the SFTP path applies it on this slave.
    refuseDir: async () => {
      const p = await ownDirProblem(o.dir);
      return p === undefined || p === 'missing' ? undefined : `refusing to write in r_archivedir ${o.dir}: it ${p.problem}; fix: ${p.hint}`;
    },
  });
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  return n;
}

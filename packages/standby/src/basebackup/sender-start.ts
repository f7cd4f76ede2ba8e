/**
 * Starting the block senders of one copy worker: one `master_cmd_standby --send-files` per
 * stream over the worker's SSH connection. When the first cannot start (cmd_standby not found
 * on the master, an older one without --send-files), the worker copies over SFTP alone.
 */
import type { SshSession } from '@pitrtools/core/ssh/index';
import { errorMessage } from '@pitrtools/core/errors';
import { BlockChannel } from './block-channel.js';
import type { SenderInit } from './copy-protocol.js';

/** `n` started senders, or [] with `onUnavailable(why)` called when the first does not start. */
export async function startSenders(session: SshSession, init: SenderInit, n: number, onUnavailable: (why: string) => void): Promise<BlockChannel[]> {
  const open = async (): Promise<BlockChannel> => BlockChannel.start(await session.openExec(init.argv), init.compress);
  let first: BlockChannel;
  try {
    first = await open();
  } catch (err) {
    onUnavailable(errorMessage(err));
    return [];
  }
  return [first, ...(await Promise.all(Array.from({ length: n - 1 }, open)))];
}

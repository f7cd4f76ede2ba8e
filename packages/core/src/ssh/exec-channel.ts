/**
 * A remote command as a long-lived stream (exec.ts buffers a short one): its stdin and stdout
 * are the channel itself, its stderr a side stream, as rsync and pgBackRest run their remote
 * end. The argv is joined only through shellJoin (single quotes), never interpolated.
 */
import type { Client, ClientChannel } from 'ssh2';
import { SshError, SshErrorCode } from './errors.js';
import type { Liveness } from './liveness.js';
import { shellJoin } from './quote.js';

/** Starts argv on the remote host (through its login shell); resolves with the open channel (a Duplex: write = stdin, read = stdout; `.stderr`; 'exit' (code, signal)). Throws SSH_EXEC_FAILED when sshd refuses the channel. */
export function openExecChannel(client: Client, live: Liveness, endpoint: string, argv: readonly string[]): Promise<ClientChannel> {
  const command = shellJoin(argv);
  return live.call<ClientChannel>((cb) => {
    client.exec(command, (err, ch) => {
      if (err) cb(new SshError(SshErrorCode.EXEC_FAILED, `cannot start ${argv[0]} on ${endpoint}: ${err.message}`, { cause: err, endpoint }));
      else cb(undefined, ch);
    });
  });
}

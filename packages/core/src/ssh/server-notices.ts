/**
 * Right after login, OpenSSH's sshd sends messages that want no answer: its host keys
 * (hostkeys-00@openssh.com) and DEBUG lines (the key's options from authorized_keys). sshd sends
 * with Nagle's algorithm on, and Linux delays the ACK of a packet this side has nothing to answer
 * with (up to 40 ms): the next small packet of the server (the confirmation of the first channel,
 * the first reply of the database session behind a forward) waits for that ACK. Measured: 44-55 ms
 * to open pg through a fresh connection, 3-9 ms when those messages are answered. So each burst
 * of them gets one SSH_MSG_IGNORE back, which carries the ACK at once.
 *
 * And the host keys are not proved: ssh2 answers the notice by asking the server to sign with
 * every host key (hostkeys-prove-00) for 'hostkeys' listeners that would learn new keys; we keep
 * our own known_hosts and never listen, and the server's reply would be one more small packet
 * nobody answers.
 *
 * Off (ssh2's own behaviour): PITR_SSH_NOTICES=off (docs/performance.md).
 */
import type { Client } from 'ssh2';

// The ssh2 1.x internals this relies on; when they are not there, ssh2's own behaviour stays.
interface PacketWriter {
  allocStart: number;
  alloc(len: number): Buffer;
  finalize(packet: Buffer): Buffer;
}
interface Ssh2Protocol {
  _handlers?: {
    GLOBAL_REQUEST?: (p: Ssh2Protocol, name: string, wantReply: boolean, data: unknown) => unknown;
    DEBUG?: (p: Ssh2Protocol, display: boolean, msg: string) => unknown;
  };
  _packetRW?: { write?: PacketWriter };
  _cipher?: { encrypt?: (packet: Buffer) => void };
  _kexinit?: unknown;
  requestSuccess(): void;
}

const SSH_MSG_IGNORE = 2;

/** Installs the handling described above on a client whose connect() has been called. */
export function answerServerNotices(client: Client): void {
  if (process.env.PITR_SSH_NOTICES === 'off') return;
  const proto = (client as unknown as { _protocol?: Ssh2Protocol })._protocol;
  const handlers = proto?._handlers;
  const globalRequest = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof globalRequest !== 'function') return;
  let scheduled = false;
  // One IGNORE per burst: the messages of a burst are handled in the same turn of the event loop.
  const ack = (p: Ssh2Protocol): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      sendIgnore(p);
    });
  };
  handlers.GLOBAL_REQUEST = (p, name, wantReply, data) => {
    if (name !== 'hostkeys-00@openssh.com') return globalRequest(p, name, wantReply, data);
    if (wantReply) p.requestSuccess();
    else ack(p);
    return undefined;
  };
  const debug = handlers.DEBUG;
  handlers.DEBUG = (p, display, msg) => {
    debug?.(p, display, msg);
    ack(p);
  };
}

function sendIgnore(p: Ssh2Protocol): void {
  const w = p._packetRW?.write;
  const encrypt = p._cipher?.encrypt;
  // During a key exchange ssh2 queues packets itself; an ACK is not worth interfering with it.
  if (!w || typeof encrypt !== 'function' || p._kexinit !== undefined) return;
  const at = w.allocStart;
  const packet = w.alloc(1 + 4);
  packet[at] = SSH_MSG_IGNORE;
  packet.writeUInt32BE(0, at + 1); // string data: empty
  encrypt.call(p._cipher, w.finalize(packet));
}

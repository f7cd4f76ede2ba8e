// pitr-test: once (the SSH layer does not depend on the PostgreSQL version)
/**
 * What the client does with the messages sshd sends after login without wanting an answer
 * (server-notices.ts): it does not ask the server to prove its host keys, and it answers with an
 * SSH_MSG_IGNORE, whose ACK keeps sshd's Nagle from holding the next packet for a delayed ACK.
 * Checked in a real sshd's own log (LogLevel DEBUG3 names every packet type it receives).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectSsh } from '../packages/core/src/ssh/index.js';
import { waitFor } from './rig/postgres.js';
import { sshTargetFor, startSshd, type SshdHandle } from './rig/sshd.js';

let sshd: SshdHandle | undefined;
before(async () => {
  sshd = await startSshd({ logLevel: 'DEBUG3' });
});
after(async () => {
  await sshd?.dispose();
});

test('after login: no host-key proof is requested, and the notices get an IGNORE back', async () => {
  const lines: string[] = [];
  const s = await connectSsh(sshTargetFor(sshd!, { debug: (l) => lines.push(l) }));
  try {
    // The server announced its host keys (and sent the key's options as DEBUG messages).
    await waitFor('the host-keys notice', async () => lines.some((l) => l.includes('hostkeys-00@openssh.com')));
    await waitFor('an IGNORE in the server log', async () => /receive packet: type 2\b/.test(sshd!.log()));
    assert.ok(!lines.some((l) => l.includes('hostkeys-prove-00@openssh.com')), 'the client asked for host-key proofs');
    assert.doesNotMatch(sshd!.log(), /hostkeys-prove-00@openssh.com/);
    // The connection works as before.
    assert.equal((await s.exec(['echo', 'ok'])).stdout.toString().trim(), 'ok');
  } finally {
    await s.close();
  }
});

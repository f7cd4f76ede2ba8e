/**
 * cmd_queue's budget of SFTP WRITE requests in flight (daemonWriteSlots): slots taken per request
 * and shared by every upload of every slave, so a lone upload fills sshd's window
 * (UPLOAD_IN_FLIGHT) and many together never hold more than DAEMON_WRITES_IN_FLIGHT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipelinedWrite } from '../../core/src/ssh/sftp-write.js';
import type { SftpChannel } from '../../core/src/ssh/sftp-channel.js';
import { UPLOAD_IN_FLIGHT } from '../src/adapters/ssh-link.js';
import { DAEMON_WRITES_IN_FLIGHT, daemonUploadBudget, daemonWriteSlots } from '../src/daemon/slave-worker.js';

const CHUNK = 1024;

/** Requests in flight on every channel together, and the most there ever were. */
const all = { now: 0, most: 0 };

/** A channel whose WRITEs are answered 5 ms later; counts the requests in flight (its own and all). */
function channel(): { ch: SftpChannel; most: () => number } {
  let now = 0;
  let most = 0;
  const ch = {
    maxWrite: CHUNK,
    write: async () => {
      most = Math.max(most, ++now);
      all.most = Math.max(all.most, ++all.now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
      all.now--;
    },
  };
  return { ch: ch as unknown as SftpChannel, most: () => most };
}

const source = (size: number) => ({ size, chunk: async (b: Buffer, _p: number, len: number) => b.subarray(0, len), close: async () => undefined });

describe('daemonWriteSlots', () => {
  it("a lone upload under cmd_queue's budget keeps UPLOAD_IN_FLIGHT requests in flight (sshd's whole window), not a fixed share of it", async () => {
    const c = channel();
    await pipelinedWrite(c.ch, Buffer.alloc(4), 'p', source(64 * CHUNK), daemonUploadBudget());
    assert.equal(c.most(), UPLOAD_IN_FLIGHT);
  });

  it('nine uploads (3 lanes x 3 slaves) together never hold more than the budget, and every one finishes', async () => {
    const slot = daemonWriteSlots();
    all.most = 0;
    const chans = Array.from({ length: 9 }, () => channel());
    await Promise.all(chans.map((c) => pipelinedWrite(c.ch, Buffer.alloc(4), 'p', source(40 * CHUNK), { inFlight: UPLOAD_IN_FLIGHT, writeSlot: slot })));
    assert.equal(all.most, DAEMON_WRITES_IN_FLIGHT);
    for (const c of chans) assert.ok(c.most() >= 1);
  });
});

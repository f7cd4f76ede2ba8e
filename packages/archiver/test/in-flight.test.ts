/**
 * cmd_queue's budget of SFTP WRITE requests in flight (daemonUploadBudget): one pool of buffers,
 * a buffer taken per request and shared by every upload of every slave, so a lone upload fills
 * sshd's window (UPLOAD_IN_FLIGHT) and many together never hold more than DAEMON_WRITES_IN_FLIGHT
 * requests, nor allocate buffers of their own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipelinedWrite } from '../../core/src/ssh/sftp-write.js';
import type { SftpChannel } from '../../core/src/ssh/sftp-channel.js';
import { UPLOAD_IN_FLIGHT } from '../src/adapters/ssh-link.js';
import { DAEMON_WRITES_IN_FLIGHT, daemonUploadBudget } from '../src/daemon/slave-worker.js';

const CHUNK = 1024;

/** Requests in flight on every channel together, and the most there ever were. */
const all = { now: 0, most: 0 };

/** A channel whose WRITEs are answered 5 ms later; counts the requests in flight (its own and all), and the buffers they were read into. */
function channel(seen: Set<ArrayBufferLike>): { ch: SftpChannel; most: () => number } {
  let now = 0;
  let most = 0;
  const ch = {
    maxWrite: CHUNK,
    write: async (_h: Buffer, data: Buffer) => {
      seen.add(data.buffer);
      most = Math.max(most, ++now);
      all.most = Math.max(all.most, ++all.now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
      all.now--;
    },
  };
  return { ch: ch as unknown as SftpChannel, most: () => most };
}

/** A source read into the buffer it is given (as a file is). */
const source = (size: number) => ({ size, chunk: async (b: Buffer, _p: number, len: number) => b.subarray(0, len), close: async () => undefined });

/** The daemon's budget as pipelinedWrite's options (the test reads core's source, the archiver its build: one class, two declarations). */
const budgetOpts = (): Parameters<typeof pipelinedWrite>[4] => daemonUploadBudget() as unknown as Parameters<typeof pipelinedWrite>[4];

describe('daemonUploadBudget', () => {
  it("a lone upload under cmd_queue's budget keeps UPLOAD_IN_FLIGHT requests in flight (sshd's whole window), not a fixed share of it", async () => {
    const c = channel(new Set());
    await pipelinedWrite(c.ch, Buffer.alloc(4), 'p', source(64 * CHUNK), budgetOpts());
    assert.equal(c.most(), UPLOAD_IN_FLIGHT);
  });

  it('nine uploads (3 lanes x 3 slaves) together never hold more than the budget, read into its buffers only, and every one finishes', async () => {
    const budget = budgetOpts();
    all.most = 0;
    const seen = new Set<ArrayBufferLike>();
    const chans = Array.from({ length: 9 }, () => channel(seen));
    await Promise.all(chans.map((c) => pipelinedWrite(c.ch, Buffer.alloc(4), 'p', source(40 * CHUNK), budget)));
    assert.equal(all.most, DAEMON_WRITES_IN_FLIGHT);
    assert.ok(seen.size <= DAEMON_WRITES_IN_FLIGHT, `${seen.size} buffers used by 9 uploads`);
    for (const c of chans) assert.ok(c.most() >= 1);
  });
});

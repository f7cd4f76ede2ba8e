/**
 * cmd_queue's budget of SFTP WRITE requests in flight: shared by every lane of every slave, never
 * under 2 per upload (one request at a time would wait a round trip per 255 KiB) and never over
 * what a standalone upload uses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UPLOAD_IN_FLIGHT } from '../src/adapters/ssh-link.js';
import { inFlightPerUpload } from '../src/daemon/slave-worker.js';

describe('inFlightPerUpload', () => {
  it('shares the budget of 12 among lanes x slaves', () => {
    assert.equal(inFlightPerUpload(3, 1), 4);
    assert.equal(inFlightPerUpload(2, 1), 6);
    assert.equal(inFlightPerUpload(3, 2), 2);
  });
  it('never goes under 2 per upload, whatever the number of slaves', () => {
    assert.equal(inFlightPerUpload(3, 3), 2);
    assert.equal(inFlightPerUpload(16, 20), 2);
  });
  it("never goes over a standalone upload's UPLOAD_IN_FLIGHT", () => {
    assert.equal(inFlightPerUpload(1, 1), UPLOAD_IN_FLIGHT);
    assert.equal(inFlightPerUpload(0, 0), UPLOAD_IN_FLIGHT);
  });
});

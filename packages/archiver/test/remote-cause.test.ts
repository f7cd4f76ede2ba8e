/**
 * The alert names the real cause: cannot connect, login refused, host key not accepted, and a
 * write that failed on a reachable slave (disk full, permission denied, a failed fsync) each have
 * their own events; one alert per outage still holds per cause, and a changed cause is alerted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PitrError, type ErrorCodeName } from '@pitrtools/core/errors';
import { deliverSegment } from '../src/archive/deliver.js';
import { remoteCause } from '../src/archive/remote-cause.js';
import { exitCodeFor, seg, world } from './fakes.js';

const events = (alerts: Array<{ level: string; event: string }>): string[] => alerts.map((a) => `${a.level}:${a.event}`);
const err = (code: ErrorCodeName, message: string): PitrError => new PitrError(code, message);

describe('remoteCause', () => {
  it('sorts the SSH layer codes into four kinds', () => {
    const codes: ErrorCodeName[] = [
      'SSH_REFUSED',
      'SSH_TIMEOUT',
      'SSH_UNREACHABLE',
      'SSH_DISCONNECTED',
      'SSH_AUTH_FAILED',
      'SSH_NO_IDENTITY',
      'SSH_HOSTKEY_UNKNOWN',
      'SSH_HOSTKEY_CHANGED',
      'SFTP_NO_SPACE',
      'SFTP_PERMISSION_DENIED',
      'SFTP_FAILURE',
    ];
    const kinds = codes.map((c) => {
      const k = remoteCause(err(c, 'x'), 'x');
      return `${c}:${k.kind}:${k.key}`;
    });
    assert.deepEqual(kinds, [
      'SSH_REFUSED:connect:connect',
      'SSH_TIMEOUT:connect:connect',
      'SSH_UNREACHABLE:connect:connect',
      'SSH_DISCONNECTED:connect:connect',
      'SSH_AUTH_FAILED:auth:auth',
      'SSH_NO_IDENTITY:auth:auth',
      'SSH_HOSTKEY_UNKNOWN:host_key:host_key',
      'SSH_HOSTKEY_CHANGED:host_key:host_key',
      'SFTP_NO_SPACE:write:disk_full',
      'SFTP_PERMISSION_DENIED:write:permission_denied',
      'SFTP_FAILURE:write:write_failed',
    ]);
  });
});

describe('deliverSegment: the alert names the cause', () => {
  const cases = [
    {
      name: 'login refused',
      set: { connectError: err('SSH_AUTH_FAILED', 'pg@s1:22 refused our key (fake)') },
      event: 'slave_auth_failed',
      text: /refuses our SSH login: pg@s1:22 refused our key/,
    },
    {
      name: 'host key',
      set: { connectError: err('SSH_HOSTKEY_CHANGED', 'the host key of s1 changed (fake)') },
      event: 'slave_host_key_rejected',
      text: /host key not accepted: the host key of s1 changed/,
    },
    {
      name: 'disk full',
      set: { uploadError: err('SFTP_NO_SPACE', 'SFTP write /archive/x on pg@s1:22: failure: disk full (0 bytes free)') },
      event: 'slave_write_failed',
      text: /cannot store segments in \/archive \(disk full\): SFTP write/,
    },
    {
      name: 'directory fsync',
      set: { uploadError: err('SFTP_PERMISSION_DENIED', 'fsync of directory /archive on pg@s1:22 failed: permission denied') },
      event: 'slave_write_failed',
      text: /\(permission denied\): fsync of directory \/archive on pg@s1:22 failed/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: queued (exit 0), one ${c.event} alert per outage, never slave_unreachable`, async () => {
      const w = world();
      Object.assign(w.slave, c.set);
      for (let i = 1; i <= 3; i++) {
        const o = await deliverSegment(w.ctx, w.wal(i));
        assert.equal(o.kind, 'queued');
        assert.equal(exitCodeFor([o]), 0);
      }
      assert.deepEqual(events(w.alerts), [`CRITICAL:${c.event}`]);
      assert.match(w.alerts[0]!.message, c.text);
      assert.match(w.alerts[0]!.message, /^slave s1 \(pg@s1:22\) /);
      assert.deepEqual(
        (await w.store.scan('s1')).files.map((f) => f.name),
        [seg(1), seg(2), seg(3)],
      );
    });
  }

  it('repeats keep the cause; a changed cause is alerted once; back: one notify_ok and no cause left behind', async () => {
    const w = world({ alertRepeatMs: 60_000 });
    w.slave.up = false;
    await deliverSegment(w.ctx, w.wal(1));
    w.slave.up = true;
    w.slave.uploadError = err('SFTP_NO_SPACE', 'SFTP write /archive/x on pg@s1:22: failure: disk full');
    await deliverSegment(w.ctx, w.wal(2));
    await deliverSegment(w.ctx, w.wal(3));
    assert.deepEqual(events(w.alerts), ['CRITICAL:slave_unreachable', 'CRITICAL:slave_write_failed']);
    assert.match(w.alerts[1]!.message, /disk full.*\(the cause changed during the outage\)$/);
    w.fs.now += 70_000;
    await deliverSegment(w.ctx, w.wal(4));
    assert.deepEqual(events(w.alerts).slice(2), ['CRITICAL:slave_still_write_failed']);
    assert.match(w.alerts[2]!.message, /still cannot store segments in \/archive \(disk full\) after 1 min/);
    // Back to the first cause: that is a change too.
    w.slave.uploadError = undefined;
    w.slave.up = false;
    await deliverSegment(w.ctx, w.wal(5));
    assert.deepEqual(events(w.alerts).slice(3), ['CRITICAL:slave_unreachable']);
    w.slave.up = true;
    assert.deepEqual(await deliverSegment(w.ctx, w.wal(6)), { kind: 'delivered', status: 'created' });
    assert.deepEqual(events(w.alerts).slice(4), ['OK:slave_recovered']);
    assert.deepEqual([...(await w.store.scan('s1')).claims], [], 'outage and cause claims gone');
    // A new outage of the same cause as the last one alerts as a new outage.
    w.slave.up = false;
    await deliverSegment(w.ctx, w.wal(7));
    assert.deepEqual(events(w.alerts).slice(5), ['CRITICAL:slave_unreachable']);
  });
});

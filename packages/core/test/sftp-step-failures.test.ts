/**
 * The SFTP steps whose failure a real sshd cannot easily produce on demand, with a fake channel:
 * a write failure on a filesystem with space left (quota, I/O error) is not called "disk full";
 * no inode left is; a directory fsync failure names the step, the directory and the fix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SshError, SshErrorCode } from '../src/ssh/errors.js';
import type { SftpChannel } from '../src/ssh/sftp-channel.js';
import { explainWriteFailure, fsyncRemoteDir, uploadAtomic } from '../src/ssh/sftp-upload.js';

const failure = (): SshError =>
  new SshError(SshErrorCode.SFTP_FAILURE, 'SFTP write /a/.x.tmp on u@h:22: failure', { endpoint: 'u@h:22', remotePath: '/a/.x.tmp' });
function fakeChannel(o: { exts?: string[]; bytes?: number; inodes?: number; open?: () => Promise<Buffer>; fsync?: () => Promise<void> }): SftpChannel {
  const exts = o.exts ?? ['fsync@openssh.com', 'statvfs@openssh.com'];
  return {
    endpoint: 'u@h:22',
    has: (e: string) => exts.includes(e),
    statvfs: async () => ({ bytesAvailable: o.bytes ?? 0, inodesAvailable: o.inodes ?? 100 }),
    open: o.open ?? (async () => Buffer.from('h')),
    fsync: o.fsync ?? (async () => undefined),
    close: async () => undefined,
  } as unknown as SftpChannel;
}

describe('explainWriteFailure', () => {
  it('no room for the file, or no inode: SFTP_NO_SPACE "disk full"', async () => {
    for (const fs of [{ bytes: 4096 }, { bytes: 1 << 30, inodes: 0 }]) {
      const e = (await explainWriteFailure(fakeChannel(fs), '/a', failure(), 16 << 20)) as SshError;
      assert.equal(e.code, SshErrorCode.SFTP_NO_SPACE);
      assert.match(e.message, /^SFTP write \/a\/\.x\.tmp on u@h:22: failure: disk full \(\d+ bytes, \d+ inodes free on the filesystem of \/a/);
    }
  });
  it('space left: "write failed (not for lack of space: quota or I/O error?)", the code unchanged', async () => {
    const e = (await explainWriteFailure(fakeChannel({ bytes: 1 << 30 }), '/a', failure(), 16 << 20)) as SshError;
    assert.equal(e.code, SshErrorCode.SFTP_FAILURE);
    assert.match(e.message, /: write failed \(not for lack of space: 1073741824 bytes free on the filesystem of \/a; quota or I\/O error\?\)$/);
  });
  it('other errors, or a server without statvfs@openssh.com: unchanged', async () => {
    const denied = new SshError(SshErrorCode.SFTP_PERMISSION_DENIED, 'SFTP open /a/.x.tmp on u@h:22: permission denied');
    assert.equal(await explainWriteFailure(fakeChannel({}), '/a', denied, 1), denied);
    const f = failure();
    assert.equal(await explainWriteFailure(fakeChannel({ exts: ['fsync@openssh.com'] }), '/a', f, 1), f);
  });
});

describe('fsyncRemoteDir', () => {
  it('a directory that cannot be opened: throws, naming the step, the directory, and the fix', async () => {
    const ch = fakeChannel({
      open: async () => {
        throw new SshError(SshErrorCode.SFTP_PERMISSION_DENIED, 'SFTP open /x/archive on u@h:22: permission denied');
      },
    });
    await assert.rejects(
      fsyncRemoteDir(ch, '/x/archive'),
      (e: SshError) =>
        e.code === SshErrorCode.SFTP_PERMISSION_DENIED &&
        e.message === 'fsync of directory /x/archive on u@h:22 failed: permission denied' &&
        /chmod u\+r.*remote_dir_fsync: off/.test(e.hint ?? ''),
    );
  });
  it('the fsync itself fails, or the server has no fsync@openssh.com: throws too', async () => {
    const ch = fakeChannel({
      fsync: async () => {
        throw new SshError(SshErrorCode.SFTP_FAILURE, 'SFTP fsync /x on u@h:22: failure');
      },
    });
    await assert.rejects(fsyncRemoteDir(ch, '/x'), (e: SshError) => e.message === 'fsync of directory /x on u@h:22 failed: failure');
    const real = { ...fakeChannel({ exts: [] }) } as unknown as SftpChannel;
    // The real SftpChannel refuses fsync without the extension; the fake does what it would.
    (real as unknown as { fsync: () => Promise<void> }).fsync = async () => {
      throw new SshError(SshErrorCode.SFTP_UNSUPPORTED, 'SFTP server on u@h:22 does not offer fsync@openssh.com (needed for /x)');
    };
    await assert.rejects(
      fsyncRemoteDir(real, '/x'),
      (e: SshError) => e.code === SshErrorCode.SFTP_UNSUPPORTED && /^fsync of directory \/x on u@h:22 failed: SFTP server/.test(e.message),
    );
  });
});

describe('uploadAtomic round trips', () => {
  it('on OpenSSH (hardlink and fsync extensions) a small file costs 5 round trips: open, write, fsync+close, link+opendir, unlink+fsync of the directory; every step still done, in order', async () => {
    const log: string[] = [];
    // A logical clock: a request sent at time t is answered at t + 1, and the answers of one
    // time come together; the time of the last answer is the upload's round trips.
    let clock = 0;
    let pending: Array<{ at: number; answer: () => void }> = [];
    let scheduled = false;
    const step = (): void => {
      scheduled = false;
      if (pending.length === 0) return;
      clock = Math.min(...pending.map((p) => p.at));
      const due = pending.filter((p) => p.at === clock);
      pending = pending.filter((p) => p.at !== clock);
      due.forEach((p) => p.answer());
      schedule();
    };
    const schedule = (): void => {
      if (!scheduled) ((scheduled = true), setImmediate(step));
    };
    const req =
      <T>(name: string, v?: T) =>
      (): Promise<T> => {
        log.push(name);
        // The directory handle's close is sent and not waited for: answered at once, not counted.
        if (name === 'close /a') return Promise.resolve(v as T);
        return new Promise<T>((resolve) => {
          pending.push({ at: clock + 1, answer: () => resolve(v as T) });
          schedule();
        });
      };
    const ch = {
      endpoint: 'u@h:22',
      maxWrite: 1 << 20,
      has: (e: string) => ['hardlink@openssh.com', 'fsync@openssh.com'].includes(e),
      open: (p: string) => req(`open ${p}`, Buffer.from('h'))(),
      write: req('write'),
      fsync: (_h: Buffer, p: string) => req(`fsync ${p}`)(),
      close: (_h: Buffer, p: string) => req(`close ${p}`)(),
      link: req('link'),
      unlink: req('unlink'),
    } as unknown as SftpChannel;
    const r = await uploadAtomic(ch, { data: Buffer.from('segment') }, '/a', '000000010000000000000001');
    assert.equal(r.status, 'created');
    assert.equal(r.dirSynced, true);
    assert.deepEqual(
      log.map((l) => l.replace(/\.000000010000000000000001\.\w+\.tmp/, 'TMP')),
      ['open /a/TMP', 'write', 'fsync /a/TMP', 'close /a/TMP', 'link', 'open /a', 'unlink', 'fsync /a', 'close /a'],
    );
    assert.equal(clock, 5);
  });
});

/**
 * The set-up most SSH tests share: an sshd, one logged-in session and a scratch directory,
 * started before the tests of the file (or describe block) that calls it and torn down after.
 */
import { after, before } from 'node:test';
import { connectSsh, type SshSession } from '../../packages/core/src/ssh/index.js';
import { sshTargetFor, startSshd, type SshdHandle } from './sshd.js';
import { makeTempDir, type TempDir } from './tmp.js';

export interface SshSessionFixture {
  sshd(): SshdHandle;
  session(): SshSession;
  /** A new session for the rest of the tests (the old one died with the server). */
  reconnect(): Promise<SshSession>;
  work: TempDir;
}

/** Registers before/after hooks for an sshd, a session on it and a scratch dir `$TMPDIR/<prefix>XXXXXX`. */
export function sshSessionFixture(prefix: string): SshSessionFixture {
  let sshd: SshdHandle | undefined;
  let session: SshSession | undefined;
  const work = makeTempDir(prefix);
  before(async () => {
    sshd = await startSshd();
    session = await connectSsh(sshTargetFor(sshd));
  });
  after(async () => {
    await session?.close();
    await sshd?.dispose();
    await work.remove();
  });
  return {
    sshd: () => sshd!,
    session: () => session!,
    async reconnect() {
      session = await connectSsh(sshTargetFor(sshd!));
      return session;
    },
    work,
  };
}

/**
 * The plain peers of the archive burst: dd with fsync into a local directory (the physical
 * floor: one durable local copy) and rsync over ssh (pitrtools 1.3's way: one ssh handshake
 * per segment, no fsync on the far side).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { shq } from './exec.js';
import type { SshClient } from './ssh-client.js';
import { verifyPlainDir, type WalMethod } from './wal-method.js';

/** `dd if=%p of=DIR/%f bs=1M conv=fsync`: the reference every ratio of part (a) is taken to. */
export function ddMethod(): WalMethod {
  return {
    id: 'dd-fsync',
    label: 'dd conv=fsync, local dir',
    unavailable: async () => undefined,
    async prepare(ctx) {
      const dest = join(ctx.dir, 'dd-archive');
      mkdirSync(dest);
      return {
        archiveCommand: `dd if=%p of=${shq(dest)}/%f bs=1M conv=fsync status=none`,
        verify: (segments, sha) => verifyPlainDir(dest, segments, sha),
      };
    },
  };
}

/** `rsync -a %p user@host:DIR/%f -e 'ssh ...'` (with -z: the original's how-to's `rsync_flags: -z`). */
export function rsyncSshMethod(ssh: () => SshClient, z = false): WalMethod {
  return {
    id: z ? 'rsync-z-ssh' : 'rsync-ssh',
    label: z ? 'rsync -z over ssh (pitrtools 1.3, -z)' : 'rsync over ssh (pitrtools 1.3)',
    unavailable: async () => undefined,
    async prepare(ctx) {
      const dest = join(ctx.dir, 'rsync-archive');
      mkdirSync(dest);
      const c = ssh();
      return {
        archiveCommand: `rsync -a${z ? 'z' : ''} -e ${shq(c.rsyncShell)} %p ${c.login}:${shq(dest)}/%f`,
        verify: (segments, sha) => verifyPlainDir(dest, segments, sha),
      };
    },
  };
}

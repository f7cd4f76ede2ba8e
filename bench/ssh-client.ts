/**
 * How the peers (rsync, pgBackRest) reach a loopback sshd: a per-run ssh config (our key, that
 * sshd's known_hosts, strict host keys, batch mode) and a wrapper script that runs OpenSSH's ssh
 * with it. The user's own ~/.ssh is neither read nor changed.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SshdHandle } from '../test/rig/sshd.js';
import { shq } from './exec.js';

export interface SshClient {
  /** Executable that behaves like ssh with the per-run config (for pgBackRest's cmd-ssh). */
  wrapper: string;
  /** rsync's -e value: ssh with the config and the port (no wrapper hop), as the original passed ssh options. */
  rsyncShell: string;
  /** user@host, the remote side of rsync. */
  login: string;
}

/** Writes `<dir>/ssh_config` and `<dir>/ssh` for one sshd. */
export function sshClientFor(sshd: SshdHandle, dir: string): SshClient {
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    [
      'Host *',
      `  IdentityFile ${sshd.clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${sshd.knownHostsFile}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const wrapper = join(dir, 'ssh');
  // -F replaces ~/.ssh/config and /etc/ssh/ssh_config: nothing of the user's set-up leaks in.
  writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/ssh -F ${shq(config)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return { wrapper, rsyncShell: `/usr/bin/ssh -F ${shq(config)} -p ${sshd.port}`, login: `${sshd.user}@${sshd.host}` };
}

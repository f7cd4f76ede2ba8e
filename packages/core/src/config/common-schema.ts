/**
 * Keys both programs have: SSH, alert hooks, logging. Factories, because the docs name the
 * other side ("the slaves" or "the master") and the examples differ per program.
 */
import { badCompressMessage, parseCompress } from '../compress.js';
import type { CheckResult, KeySpec } from './schema.js';

/** The group of the keys kept only so that the original's files load (sample and --help order). */
export const COMPAT = 'Kept for compatibility';

/** The check of both files' `compress` key: one validator, so both programs refuse a value in the same words. */
export function checkCompress(v: string): CheckResult {
  try {
    parseCompress(v);
    return undefined;
  } catch {
    return { error: badCompressMessage(v) };
  }
}

/** The SSH keys; `peer` is who we connect to, `timeout` the default of ssh_timeout. */
export function sshKeySpecs(peer: 'slave' | 'master', timeout: string) {
  const whose = peer === 'slave' ? "the slaves'" : "the master's";
  return [
    {
      name: 'ssh_port',
      type: 'int',
      group: 'SSH',
      default: '22',
      min: 1,
      max: 65535,
      perSlave: true,
      doc: peer === 'slave' ? 'SSH port of the slaves, unless an entry of slaves names its own (host:port).' : 'SSH port of the master.',
    },
    {
      name: 'ssh_identity',
      type: 'paths',
      group: 'SSH',
      perSlave: true,
      default: '~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa',
      defaultText: '~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa, whichever exist',
      example: '~/.ssh/pitr_ed25519',
      doc:
        'Private key files to authenticate with, comma separated, tried in order; a key named here must exist. ' +
        'A running ssh-agent (SSH_AUTH_SOCK) is offered as well.',
    },
    {
      name: 'ssh_known_hosts',
      type: 'path',
      group: 'SSH',
      default: '~/.ssh/known_hosts',
      perSlave: true,
      example: '/var/lib/postgresql/.ssh/known_hosts',
      doc: `OpenSSH known_hosts file that holds ${whose} host keys.`,
    },
    {
      name: 'ssh_host_key_check',
      type: 'enum',
      group: 'SSH',
      values: ['yes', 'accept-new', 'no'],
      default: 'yes',
      perSlave: true,
      doc:
        `yes: ${whose} host key must already be in ssh_known_hosts. accept-new: an unknown host's key is ` +
        'added on first contact, a changed key is refused. no: any key is accepted (unsafe).',
      check: (v: string): CheckResult =>
        v === 'no'
          ? { warning: `key 'ssh_host_key_check' is 'no': any host key is accepted, so whoever answers at ${whose} address gets the connection` }
          : undefined,
    },
    {
      name: 'ssh_timeout',
      type: 'seconds',
      group: 'SSH',
      default: timeout,
      min: 1,
      perSlave: true,
      doc:
        peer === 'slave'
          ? 'How long to wait for a slave to answer over SSH before it counts as down (the segment is then queued for it).'
          : 'How long to wait for the master to answer over SSH before giving up.',
    },
    {
      name: 'ssh_debug',
      type: 'bool',
      group: 'SSH',
      default: 'off',
      doc: 'Log the SSH protocol exchange as DEBUG lines (very noisy).',
    },
  ] as const satisfies readonly KeySpec[];
}

/** What each notify_* key is run for, in words for the docs. */
export interface AlertExamples {
  readonly ok: string;
  readonly warning: string;
  readonly critical: string;
}

/** notify_ok / notify_warning / notify_critical and hook_timeout. */
export function alertKeySpecs(when: AlertExamples) {
  const how =
    'Split into words as a shell would (quotes honoured, nothing expanded, no shell), the message ' +
    'appended as the last argument, the details in PITR_* environment variables.';
  return [
    {
      name: 'notify_ok',
      type: 'command',
      group: 'Alerts',
      example: '/usr/local/bin/pitr-alert OK',
      doc: `Command run when ${when.ok}. ${how}`,
    },
    {
      name: 'notify_warning',
      type: 'command',
      group: 'Alerts',
      example: '/usr/local/bin/pitr-alert WARNING',
      doc: `Command run when ${when.warning}; run like notify_ok.`,
    },
    {
      name: 'notify_critical',
      type: 'command',
      group: 'Alerts',
      example: '/usr/local/bin/pitr-alert CRITICAL',
      doc: `Command run when ${when.critical}; run like notify_ok.`,
    },
    {
      name: 'hook_timeout',
      type: 'seconds',
      group: 'Alerts',
      default: '30',
      min: 1,
      doc: 'How long a notify_* command (or action_failover) may run before it is killed.',
    },
  ] as const satisfies readonly KeySpec[];
}

/** The `debug` switch. */
export const debugKey = {
  name: 'debug',
  type: 'bool',
  group: 'Logging',
  default: 'off',
  doc: 'Log each step as DEBUG lines on stderr.',
} as const satisfies KeySpec;

/** The legacy `ssh` key: warns when its value carries flags that used to matter. */
export const legacySshKey = {
  name: 'ssh',
  type: 'string',
  group: COMPAT,
  example: '/usr/bin/ssh',
  doc: 'Path of the ssh program, with optional flags.',
  legacy: {
    kind: 'ignored',
    since: 'the TypeScript rewrite',
    reason: 'SSH is built in and no ssh program is run; use ssh_port, ssh_identity and ssh_known_hosts',
    warn: (value: string): string | undefined => {
      if (!/\s-/.test(value)) return undefined;
      const port = /\s-p\s*(\d+)/.exec(value)?.[1];
      const fix = port !== undefined ? `set ssh_port: ${port}` : 'use ssh_port, ssh_identity and ssh_known_hosts';
      return `key 'ssh': the flags in '${value}' are no longer applied (no ssh program is run); ${fix}`;
    },
  },
} as const satisfies KeySpec;

/** rsync_flags of both files: compression asked for in it turns compress on (rsync-flags.ts reads it); `noRsync` says what runs instead of rsync. */
export function rsyncFlagsKey(noRsync: string) {
  return {
    name: 'rsync_flags',
    type: 'string',
    group: COMPAT,
    example: '-z',
    doc: 'Extra rsync flags.',
    legacy: {
      kind: 'note',
      note:
        `${noRsync.charAt(0).toUpperCase()}${noRsync.slice(1)}. When compress is not set, compression asked for here means compress: zstd (lz4 for --compress-choice=lz4), ` +
        'read as rsync reads it: -z or --compress (also in a bundle such as -avz), --compress-choice/--zc other than none, ' +
        '--compress-level/--zl other than 0; the last of -z and --no-compress wins. Each run then logs a WARNING naming the line ' +
        'and the compress line to write instead. The other flags have no effect',
    },
  } as const satisfies KeySpec;
}

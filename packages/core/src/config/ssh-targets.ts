/**
 * Fully resolved SSH destinations: per slave for cmd_archiver (its section's overrides on top
 * of DEFAULT), and the master for cmd_standby. The SSH layer needs nothing else from the config.
 */
import { parseCompress, type CompressSpec } from '../compress.js';
import { ConfigError } from '../errors.js';
import { ConfigCode } from './codes.js';
import type { ArchiverConfig, PerSlaveKey, StandbyConfig } from './config-types.js';
import { isFile } from './io.js';
import { parseSlaveList } from './slave-sections.js';
import type { SshTarget } from '../ssh/connect.js';

// The SSH layer's own type (a type-only import: the config layer loads no ssh2).
export type { SshTarget };

/** One slave of cmd_archiver, ready to connect to. */
export interface SlaveTarget extends SshTarget {
  /** As written in `slaves`. */
  entry: string;
  /** Queue directory name under l_archivedir. */
  name: string;
  r_archivedir: string;
  /** slave_deadline in ms: the longest one run waits for this slave before queueing for it. */
  deadlineMs: number;
  /** remote_dir_fsync: fsync r_archivedir after each rename. */
  remoteDirFsync: boolean;
  /** compress: the codec segments travel in (none: SFTP as it always was). */
  compress: CompressSpec;
  /** slave_cmd_standby: cmd_standby on the slave, which runs the WAL receiver when compress is not none. */
  cmdStandby: string;
}

type SshValues = Pick<
  ArchiverConfig,
  Exclude<PerSlaveKey, 'r_archivedir' | 'slave_deadline' | 'remote_dir_fsync' | 'slave_config' | 'slave_cmd_standby' | 'compress'>
>;

/** Every slave with its section's overrides applied. `exists` checks key files (tests pass a fake). */
export function resolveSlaves(config: ArchiverConfig, exists: (path: string) => boolean = isFile): SlaveTarget[] {
  return parseSlaveList(config).map((s) => {
    const section = config.sections[s.entry];
    const v = section?.values ?? config;
    const explicitLine = section?.sources['ssh_identity'] ?? config.sources['ssh_identity'];
    return {
      entry: s.entry,
      name: s.name,
      r_archivedir: v.r_archivedir,
      deadlineMs: Math.round(v.slave_deadline * 1000),
      remoteDirFsync: v.remote_dir_fsync,
      compress: parseCompress(v.compress),
      cmdStandby: v.slave_cmd_standby,
      ...target(config.file, s.host, s.port ?? v.ssh_port, v, explicitLine, exists),
    };
  });
}

/** The master as cmd_standby connects to it. */
export function resolveMaster(config: StandbyConfig, exists: (path: string) => boolean = isFile): SshTarget {
  return target(config.file, config.master_public_ip, config.ssh_port, config, config.sources['ssh_identity'], exists);
}

// Default key files are candidates (use those that exist, like ssh does); a key file the user
// named must exist, or authentication would fail later with a far less helpful message.
function target(file: string, host: string, port: number, v: SshValues, explicitLine: number | undefined, exists: (path: string) => boolean): SshTarget {
  if (explicitLine !== undefined) {
    const missing = v.ssh_identity.find((p) => !exists(p));
    if (missing !== undefined) {
      throw new ConfigError(ConfigCode.BAD_VALUE, file, `key file ${missing} does not exist (or is not a file)`, { line: explicitLine, key: 'ssh_identity' });
    }
  }
  const timeoutMs = Math.round(v.ssh_timeout * 1000);
  return {
    host,
    port,
    user: v.user,
    // Only key files that exist are offered; the ssh-agent's keys too, when SSH_AUTH_SOCK is set.
    identityFiles: v.ssh_identity.filter((p) => exists(p)),
    useAgent: true,
    knownHostsFile: v.ssh_known_hosts,
    hostKeyCheck: v.ssh_host_key_check,
    connectTimeoutMs: timeoutMs,
    // Tight enough that a hung peer is noticed within about ssh_timeout.
    keepaliveIntervalMs: Math.max(250, Math.min(5000, Math.floor(timeoutMs / 3))),
    keepaliveCountMax: 3,
  };
}

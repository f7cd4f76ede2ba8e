/**
 * Reading known_hosts and appending to it durably (temp file + fsync + rename + directory
 * fsync), so a crash while accepting a new host never leaves a truncated known_hosts behind.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { errorCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { SshError, SshErrorCode } from './errors.js';
import { parseKnownHosts, type KnownHostEntry } from './known-hosts.js';

/** Reads and parses a known_hosts file; a missing file is an empty one. */
export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw new SshError(SshErrorCode.KNOWN_HOSTS, `cannot read known_hosts file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Appends one line to known_hosts atomically; a new file (and its directory) is created 0600 (0700). */
export async function appendKnownHostLine(file: string, line: string): Promise<void> {
  try {
    await fsp.mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let old = '';
    let mode = 0o600;
    try {
      old = await fsp.readFile(file, 'utf8');
      mode = (await fsp.stat(file)).mode & 0o777; // keep the mode the owner chose
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
    await writeFileAtomic(file, `${old}${old !== '' && !old.endsWith('\n') ? '\n' : ''}${line}\n`, mode);
  } catch (err) {
    throw new SshError(SshErrorCode.KNOWN_HOSTS, `cannot add the host key to ${file}: ${(err as Error).message}`, { cause: err });
  }
}

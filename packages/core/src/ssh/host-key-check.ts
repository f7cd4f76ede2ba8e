/**
 * The host-key policy (ssh_host_key_check): 'yes' refuses unknown and changed keys,
 * 'accept-new' records unknown hosts and refuses changed ones, 'no' accepts anything and
 * says so. The original pitrtools ran with StrictHostKeyChecking=no: any host could pose as
 * the standby and receive all WAL.
 */
import type { Logger } from '../log.js';
import { SshError, SshErrorCode } from './errors.js';
import { appendKnownHostLine } from './known-hosts-file.js';
import { fingerprintSha256, formatKnownHostLine, keyBlobType, knownHostName, verifyHostKey, type KnownHostEntry } from './known-hosts.js';
import { shellQuote } from './quote.js';

/** ssh_host_key_check values, with the meaning of StrictHostKeyChecking. */
export type HostKeyCheck = 'yes' | 'accept-new' | 'no';

/** Quotes for a hint only when needed, so common paths stay readable. */
function q(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : shellQuote(s);
}

/** Decides on an offered host key; resolves when accepted, throws the SshError that explains a refusal. */
export async function checkHostKey(args: {
  mode: HostKeyCheck;
  host: string;
  port: number;
  knownHostsFile: string;
  entries: readonly KnownHostEntry[];
  offered: Buffer;
  endpoint: string;
  log?: Logger | undefined;
}): Promise<void> {
  const { mode, host, port, knownHostsFile: file, offered, endpoint } = args;
  const fp = fingerprintSha256(offered);
  const type = keyBlobType(offered) ?? 'unknown-type';
  const name = knownHostName(host, port);
  if (mode === 'no') {
    args.log?.warning(`ssh_host_key_check is off: not verifying that ${name} is who it claims to be (it offered ${type} ${fp})`);
    return;
  }
  const verdict = verifyHostKey(args.entries, host, port, offered);
  switch (verdict.status) {
    case 'known':
      return;
    case 'revoked':
      throw new SshError(
        SshErrorCode.HOSTKEY_REVOKED,
        `host key of ${name} (${type} ${fp}) is marked @revoked in ${file}:${verdict.line}; refusing to connect`,
        { endpoint },
      );
    case 'changed':
      throw new SshError(
        SshErrorCode.HOSTKEY_CHANGED,
        `host key of ${name} has CHANGED: it offered ${type} ${fp}, ${file} line ${verdict.lines.join(', ')} says otherwise (someone may be intercepting, or the host was reinstalled)`,
        { endpoint, hint: `after verifying the new key on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub): ssh-keygen -R ${q(name)} -f ${q(file)}` },
      );
    case 'unknown':
      if (mode === 'accept-new') {
        await appendKnownHostLine(file, formatKnownHostLine(host, port, offered));
        args.log?.notice(`added ${name} (${type} ${fp}) to ${file}`);
        return;
      }
      throw new SshError(SshErrorCode.HOSTKEY_UNKNOWN, `host ${name} is not in ${file}; it offered ${type} ${fp}`, {
        endpoint,
        hint: `after checking that fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub): ssh-keyscan -p ${port} ${q(host)} >> ${q(file)}; or set ssh_host_key_check: accept-new`,
      });
  }
}

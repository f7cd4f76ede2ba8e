/**
 * Entries of cmd_archiver's `slaves` key: `host`, `host:port`, `[v6addr]:port` or a bare IPv6
 * address. Each names a queue directory under l_archivedir, so the name must be safe as a
 * path component and stay what 1.3 used (the host alone) when no port is given.
 */
import { isIP, isIPv6 } from 'node:net';
import type { Parsed } from './values.js';

/** One entry of `slaves`, split up. */
export interface SlaveEntry {
  /** As written (trimmed); a per-slave section must carry exactly this name. */
  readonly entry: string;
  readonly host: string;
  /** Only when the entry names one; otherwise ssh_port applies. */
  readonly port: number | undefined;
  /** Queue directory name under l_archivedir. */
  readonly name: string;
}

const HOSTNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** The queue directory name: the host alone without a port (as 1.3), else host_port made path-safe. */
export function slaveQueueName(host: string, port: number | undefined): string {
  return port === undefined ? host : `${host}_${port}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * How output names a slave: its queue name (what logs, alerts and PITR_SLAVE use), followed by its
 * entry in `slaves` (its section's name) when that differs, e.g. `db2_2222 ([db2:2222] in the ini)`.
 */
export function slaveLabel(s: { readonly entry: string; readonly name: string }): string {
  return s.entry === s.name ? s.name : `${s.name} ([${s.entry}] in the ini)`;
}

/** Splits one entry of `slaves`; the error is phrased to follow "key 'slaves': ". */
export function parseSlaveEntry(text: string): Parsed<SlaveEntry> {
  // 1.3 removed every ' from the list, so `slaves: 'a','b'` worked; so does it here.
  const entry = text.trim().replace(/'/g, '');
  const bad = (why: string): Parsed<SlaveEntry> => ({
    error: `'${entry}' is not a slave entry: ${why} (write host, host:port, [IPv6]:port or an IPv6 address)`,
  });
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
    if (!isIPv6(host)) return bad(`'${host}' inside [] is not an IPv6 address`);
  } else if ((entry.match(/:/g) ?? []).length >= 2) {
    host = entry;
    if (!isIPv6(host)) return bad('more than one : but not an IPv6 address');
  } else {
    [host, portText] = entry.split(':') as [string, string | undefined];
    if (isIP(host) === 0 && !HOSTNAME.test(host)) return bad(`'${host}' is not a host name or IP address`);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) return bad(`port '${portText}' is not a number from 1 to 65535`);
  }
  return { value: { entry, host, port, name: slaveQueueName(host, port) } };
}

/**
 * known_hosts parsing and host-key matching, the way OpenSSH's ssh(1) reads the file:
 * plain and comma-separated host lists, `[host]:port` for ports other than 22, hashed
 * `|1|salt|hash` entries (HMAC-SHA1), `*`/`?` wildcards with `!` negation, and the
 * `@revoked` / `@cert-authority` markers. Pure functions: reading and writing the file
 * lives in known-hosts-file.ts.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number, for "offending key in FILE:LINE" messages. */
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  /** The host field as written: patterns separated by commas, or one hashed `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  /** The raw public key blob (the base64 field decoded). */
  key: Buffer;
}

/** The outcome of looking a host's offered key up in known_hosts. */
export type HostKeyVerdict =
  | { status: 'known'; line: number }
  | { status: 'unknown' }
  | { status: 'changed'; lines: number[]; knownTypes: string[] }
  | { status: 'revoked'; line: number };

/** The name known_hosts stores a host under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** The SSH wire name of a key blob (its first string field), or undefined if malformed. */
export function keyBlobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n === 0 || n > 64 || 4 + n > blob.length) return undefined;
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** `SHA256:...` fingerprint of a key blob, as `ssh-keygen -l` and ssh(1) print it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Parses known_hosts text; comment, blank and malformed lines are skipped like ssh(1) does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: ssh(1) ignores the line
    }
    const [hosts, keyType, b64] = fields;
    if (hosts === undefined || keyType === undefined || b64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const key = Buffer.from(b64, 'base64');
    // The type inside the blob must agree with the type column, or the line is corrupt.
    if (keyBlobType(key) !== keyType) continue;
    out.push({ line: i + 1, marker, hosts, keyType, key });
  }
  return out;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(field: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(key=salt, data=name))
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const want = Buffer.from(parts[3]!, 'base64');
  if (salt.length !== 20 || want.length !== 20) return false;
  const got = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(got, want);
}

/** Whether a known_hosts host field (hashed, or a pattern list with `!` negation) names `name`. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatches(field, name);
  let matched = false;
  for (const p of field.split(',')) {
    if (p === '') continue;
    const negated = p.startsWith('!');
    const pat = negated ? p.slice(1) : p;
    if (!globToRegExp(pat).test(name)) continue;
    if (negated) return false; // a matching negation vetoes the whole line, as in match_hostlist()
    matched = true;
  }
  return matched;
}

/** Decides whether `offered` (a key blob) is the known key of `host:port`. */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, offered: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  const mine = entries.filter((e) => hostFieldMatches(e.hosts, name));
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key.equals(offered));
  // A revoked key is refused even when another line also lists it as valid.
  if (revoked) return { status: 'revoked', line: revoked.line };
  const plain = mine.filter((e) => e.marker === undefined);
  const hit = plain.find((e) => e.key.equals(offered));
  if (hit) return { status: 'known', line: hit.line };
  if (plain.length === 0) return { status: 'unknown' };
  return { status: 'changed', lines: plain.map((e) => e.line), knownTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** The key types known_hosts holds for `host:port` (plain entries only). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  const types = entries.filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, name)).map((e) => e.keyType);
  return [...new Set(types)];
}

/** Host-key algorithms that produce keys of the given known_hosts key type. */
export function algorithmsForKeyType(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (keyType === 'ssh-ed25519' || keyType.startsWith('ecdsa-sha2-')) return [keyType];
  return [];
}

/**
 * Orders host-key algorithms so the types already in known_hosts come first, as ssh(1) does:
 * otherwise a server holding both an RSA and an ed25519 key could offer the one we do not
 * know, and we would report a changed key where nothing changed.
 */
export function orderHostKeyAlgorithms(defaults: readonly string[], knownTypes: readonly string[]): string[] {
  const first = knownTypes.flatMap(algorithmsForKeyType).filter((a) => defaults.includes(a));
  return [...new Set([...first, ...defaults])];
}

/** One known_hosts line for `host:port` and a key blob, unhashed (like HashKnownHosts no). */
export function formatKnownHostLine(host: string, port: number, blob: Buffer): string {
  const type = keyBlobType(blob);
  if (type === undefined) throw new Error('malformed host key blob');
  return `${knownHostName(host, port)} ${type} ${blob.toString('base64')}`;
}

/**
 * backup_manifest in PostgreSQL's own format, byte for byte as the server writes it
 * (src/backend/backup/backup_manifest.c; read by src/bin/pg_verifybackup): version 1 up to
 * PostgreSQL 16, version 2 with System-Identifier from 17 on; one line per file with Path (or
 * Encoded-Path, hex, when the name is not valid UTF-8), Size, Last-Modified (GMT), SHA256;
 * WAL-Ranges; and Manifest-Checksum, the SHA-256 of every byte before that line.
 */
import { createHash } from 'node:crypto';
import { TextDecoder } from 'node:util';

/** One file of the backup: path relative to the data directory as raw bytes ('/'-separated), size, mtime (s), SHA-256 (hex). */
export interface ManifestFile {
  path: Buffer;
  size: number;
  mtimeS: number;
  sha256: string;
}

/** One WAL range: the timeline and LSNs like 0/2000028, upper-case hex as PostgreSQL prints them. */
export interface WalRange {
  timeline: number;
  startLsn: string;
  endLsn: string;
}

/** What the manifest says besides the files. */
export interface ManifestHeader {
  /** server_version_num of the source: 170000 and up write version 2 with the system identifier. */
  versionNum: number;
  systemIdentifier: string;
  /** Newest timeline first, as AddWALInfoToBackupManifest lists them. */
  walRanges: WalRange[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The path as PostgreSQL writes it: "Path": JSON string when valid UTF-8, else "Encoded-Path": hex. */
function pathField(path: Buffer): string {
  try {
    // escape_json and JSON.stringify agree on valid UTF-8: \" \\ \b \f \n \r \t, \u00XX for other controls.
    return `"Path": ${JSON.stringify(utf8.decode(path))}`;
  } catch {
    return `"Encoded-Path": "${path.toString('hex')}"`;
  }
}

/** "2026-11-30 16:30:00 GMT": pg_strftime("%Y-%m-%d %H:%M:%S %Z", pg_gmtime(mtime)). */
export function manifestTime(mtimeS: number): string {
  return `${new Date(Math.floor(mtimeS) * 1000).toISOString().slice(0, 19).replace('T', ' ')} GMT`;
}

/** An LSN as PostgreSQL prints it (%X/%X): no leading zeros, upper case. */
export function normalLsn(lsn: string): string {
  const [hi, lo] = lsn.split('/');
  return `${parseInt(hi!, 16).toString(16).toUpperCase()}/${parseInt(lo!, 16).toString(16).toUpperCase()}`;
}

/** The text before the first file's line. */
export function manifestHead(h: ManifestHeader): string {
  return h.versionNum >= 170000
    ? `{ "PostgreSQL-Backup-Manifest-Version": 2,\n"System-Identifier": ${h.systemIdentifier},\n"Files": [`
    : '{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [';
}

/** One file's line, with what separates it from the one before (`first`: the head). */
export function manifestLine(f: ManifestFile, first: boolean): string {
  return (
    `${first ? '\n' : ',\n'}{ ${pathField(f.path)}, "Size": ${f.size}, "Last-Modified": "${manifestTime(f.mtimeS)}", ` +
    `"Checksum-Algorithm": "SHA256", "Checksum": "${f.sha256}" }`
  );
}

/** The text after the last file's line, up to the Manifest-Checksum line. */
export function manifestWalPart(h: ManifestHeader): string {
  const ranges = h.walRanges.map((r) => `{ "Timeline": ${r.timeline}, "Start-LSN": "${normalLsn(r.startLsn)}", "End-LSN": "${normalLsn(r.endLsn)}" }`);
  return `\n],\n"WAL-Ranges": [\n${ranges.join(',\n')}\n],\n`;
}

/** The last line: the SHA-256 (hex) of every byte before it. */
export function manifestChecksumLine(sha256: string): string {
  return `"Manifest-Checksum": "${sha256}"}\n`;
}

/** The complete backup_manifest text (UTF-8) for `files` in the given order (a big set is streamed: manifest-files.ts). */
export function manifestText(h: ManifestHeader, files: readonly ManifestFile[]): Buffer {
  const body = Buffer.from(manifestHead(h) + files.map((f, i) => manifestLine(f, i === 0)).join('') + manifestWalPart(h), 'utf8');
  const sum = createHash('sha256').update(body).digest('hex');
  return Buffer.concat([body, Buffer.from(manifestChecksumLine(sum), 'utf8')]);
}

/** True when `text` ends with a Manifest-Checksum that is the SHA-256 of everything before that line. */
export function manifestChecksumOk(text: Buffer): boolean {
  const s = text.toString('latin1');
  const at = s.lastIndexOf('"Manifest-Checksum": "');
  if (at < 0) return false;
  const m = /^"Manifest-Checksum": "([0-9a-f]{64})"\}\n$/.exec(s.slice(at));
  return m !== null && createHash('sha256').update(text.subarray(0, at)).digest('hex') === m[1];
}

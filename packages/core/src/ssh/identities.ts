/**
 * Loading private keys for public-key authentication. Passphrase-protected keys cannot be used
 * unattended (archive_command has no terminal): they are skipped with a reason that says to
 * load them into ssh-agent instead.
 */
import { promises as fsp } from 'node:fs';
import ssh2, { type ParsedKey } from 'ssh2';
import { errorCode } from '../errors.js';

// ssh2 is CommonJS whose named exports Node's ESM loader cannot detect: use the default export.
const { utils } = ssh2;

/** A usable private key and the file it came from. */
export interface Identity {
  file: string;
  key: ParsedKey;
}

/** Loads the identity files; returns usable keys and a reason for each file that is not. */
export async function loadIdentities(files: readonly string[]): Promise<{ keys: Identity[]; skipped: string[] }> {
  const keys: Identity[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    let data: Buffer;
    try {
      data = await fsp.readFile(file);
    } catch (err) {
      skipped.push(`${file} (${errorCode(err) === 'ENOENT' ? 'missing' : 'unreadable'})`);
      continue;
    }
    const parsed = utils.parseKey(data) as ParsedKey | ParsedKey[] | Error;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key === undefined || key instanceof Error) {
      const encrypted = key instanceof Error && /encrypted|passphrase/i.test(key.message);
      skipped.push(`${file} (${encrypted ? 'passphrase-protected: load it into ssh-agent instead' : 'not a private key'})`);
    } else if (!key.isPrivateKey()) {
      skipped.push(`${file} (a public key, not the private one)`);
    } else {
      keys.push({ file, key });
    }
  }
  return { keys, skipped };
}

/**
 * known_hosts parsing and matching (plain, lists, [host]:port, hashed, wildcards, markers,
 * ed25519/ecdsa/rsa), checked against OpenSSH's own ssh-keygen where it helps, and the
 * durable append used by ssh_host_key_check: accept-new.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { appendKnownHostLine, readKnownHosts } from '../src/ssh/known-hosts-file.js';
import {
  fingerprintSha256,
  formatKnownHostLine,
  hostFieldMatches,
  keyBlobType,
  knownHostName,
  knownKeyTypes,
  orderHostKeyAlgorithms,
  parseKnownHosts,
  verifyHostKey,
} from '../src/ssh/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-kh-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A real public key of the given type, made by ssh-keygen: [type, base64, blob, .pub path]. */
function realKey(type: 'ed25519' | 'ecdsa' | 'rsa'): { line: string; blob: Buffer; pub: string } {
  const f = join(dir, `k-${type}-${randomBytes(3).toString('hex')}`);
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', f], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const line = readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return { line, blob: Buffer.from(line.split(' ')[1]!, 'base64'), pub: `${f}.pub` };
}
const ed = realKey('ed25519');
const ec = realKey('ecdsa');
const rsa = realKey('rsa');
const other = realKey('ed25519');

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

test('knownHostName: bare host on port 22, [host]:port otherwise, lower case', () => {
  assert.equal(knownHostName('Master.Example', 22), 'master.example');
  assert.equal(knownHostName('10.0.0.1', 2222), '[10.0.0.1]:2222');
});

test('parse: key types, markers, comments, blank and malformed lines', () => {
  const text = [
    '# comment',
    '',
    `master ${ed.line} some comment`,
    `[standby]:2222,10.1.1.1 ${ec.line}`,
    `@revoked old ${rsa.line}`,
    `@cert-authority *.example ${ed.line}`,
    '@weird x ssh-ed25519 AAAA',
    'onlyhost',
    `bad ssh-rsa ${ed.line.split(' ')[1]}`,
    `broken ssh-ed25519 !!!notbase64`,
    `   indented ${rsa.line}`,
  ].join('\n');
  const e = parseKnownHosts(text);
  assert.deepEqual(
    e.map((x) => [x.line, x.marker, x.hosts, x.keyType]),
    [
      [3, undefined, 'master', 'ssh-ed25519'],
      [4, undefined, '[standby]:2222,10.1.1.1', 'ecdsa-sha2-nistp256'],
      [5, 'revoked', 'old', 'ssh-rsa'],
      [6, 'cert-authority', '*.example', 'ssh-ed25519'],
      [11, undefined, 'indented', 'ssh-rsa'],
    ],
  );
  assert.ok(e[0]!.key.equals(ed.blob));
  assert.equal(keyBlobType(rsa.blob), 'ssh-rsa');
});

test('host fields: lists, [host]:port, wildcards, negation, case, hashed', () => {
  assert.ok(hostFieldMatches('a,[b]:2222,c', '[b]:2222'));
  assert.ok(!hostFieldMatches('[b]:2222', 'b'), 'a port entry does not match port 22');
  assert.ok(!hostFieldMatches('b', '[b]:2222'), 'a port-22 entry does not match another port');
  assert.ok(hostFieldMatches('*.example.com', 'db1.example.com'));
  assert.ok(hostFieldMatches('db?.example.com', 'db7.example.com'));
  assert.ok(!hostFieldMatches('*.example.com,!db1.example.com', 'db1.example.com'));
  assert.ok(hostFieldMatches('MASTER', 'master'));
  assert.ok(hostFieldMatches(hashed('[10.0.0.5]:2222'), '[10.0.0.5]:2222'));
  assert.ok(!hostFieldMatches(hashed('[10.0.0.5]:2222'), '[10.0.0.5]:2223'));
  assert.ok(!hostFieldMatches('|1|garbage|x', 'x'));
});

test('hashed entries written by ssh-keygen -H match', () => {
  const f = join(dir, 'kh-hash');
  writeFileSync(f, `[127.0.0.1]:2222 ${ed.line}\nmaster,10.0.0.9 ${ec.line}\n`);
  const r = spawnSync('ssh-keygen', ['-H', '-f', f], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const e = parseKnownHosts(readFileSync(f, 'utf8'));
  assert.ok(e.every((x) => x.hosts.startsWith('|1|')));
  assert.deepEqual(verifyHostKey(e, '127.0.0.1', 2222, ed.blob).status, 'known');
  assert.deepEqual(verifyHostKey(e, '10.0.0.9', 22, ec.blob).status, 'known');
  assert.deepEqual(verifyHostKey(e, 'master', 22, ec.blob).status, 'known');
  assert.deepEqual(verifyHostKey(e, 'master', 2222, ec.blob).status, 'unknown');
});

test('verdicts: known, unknown, changed (with lines), revoked beats valid, cert-authority ignored', () => {
  const e = parseKnownHosts(
    [
      `master ${ed.line}`,
      `master ${rsa.line}`,
      `[standby]:2222 ${ec.line}`,
      `@revoked * ${other.line}`,
      `@cert-authority * ${ec.line}`,
      `compromised ${other.line}`,
    ].join('\n'),
  );
  assert.deepEqual(verifyHostKey(e, 'master', 22, rsa.blob), { status: 'known', line: 2 });
  assert.deepEqual(verifyHostKey(e, 'nobody', 22, ec.blob), { status: 'unknown' });
  assert.deepEqual(verifyHostKey(e, 'master', 22, ec.blob), { status: 'changed', lines: [1, 2], knownTypes: ['ssh-ed25519', 'ssh-rsa'] });
  assert.deepEqual(verifyHostKey(e, 'compromised', 22, other.blob), { status: 'revoked', line: 4 });
  assert.deepEqual(verifyHostKey(e, 'standby', 2222, ec.blob), { status: 'known', line: 3 });
  assert.deepEqual(knownKeyTypes(e, 'master', 22), ['ssh-ed25519', 'ssh-rsa']);
});

test('host-key algorithms: types on file come first', () => {
  const defaults = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256'];
  assert.deepEqual(orderHostKeyAlgorithms(defaults, []), defaults);
  assert.deepEqual(orderHostKeyAlgorithms(defaults, ['ssh-rsa']), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-ed25519', 'ecdsa-sha2-nistp256']);
  assert.deepEqual(orderHostKeyAlgorithms(defaults, ['ecdsa-sha2-nistp256', 'ssh-dss']), [
    'ecdsa-sha2-nistp256',
    'ssh-ed25519',
    'rsa-sha2-512',
    'rsa-sha2-256',
  ]);
});

test('fingerprints equal ssh-keygen -l for ed25519, ecdsa and rsa', () => {
  for (const k of [ed, ec, rsa]) {
    const r = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', k.pub], { encoding: 'utf8' });
    assert.equal(fingerprintSha256(k.blob), r.stdout.split(' ')[1]);
  }
});

test('formatKnownHostLine round-trips and ssh-keygen -F finds it', () => {
  const f = join(dir, 'kh-format');
  writeFileSync(f, `${formatKnownHostLine('127.0.0.1', 2222, ed.blob)}\n${formatKnownHostLine('Master', 22, rsa.blob)}\n`);
  assert.equal(readFileSync(f, 'utf8').split('\n')[0], `[127.0.0.1]:2222 ${ed.line}`);
  for (const name of ['[127.0.0.1]:2222', 'master']) {
    assert.equal(spawnSync('ssh-keygen', ['-F', name, '-f', f]).status, 0, name);
  }
});

test('appendKnownHostLine: creates dir 0700 and file 0600, keeps old lines and mode, leaves no temp', async () => {
  const sub = join(dir, 'new', '.ssh');
  const f = join(sub, 'known_hosts');
  assert.deepEqual(await readKnownHosts(f), []);
  await appendKnownHostLine(f, 'a ' + ed.line);
  assert.equal(statSync(sub).mode & 0o777, 0o700);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  writeFileSync(f, readFileSync(f, 'utf8').trimEnd()); // no trailing newline
  await appendKnownHostLine(f, 'b ' + ec.line);
  assert.equal(readFileSync(f, 'utf8'), `a ${ed.line}\nb ${ec.line}\n`);
  assert.deepEqual(readdirSync(sub), ['known_hosts']);
  assert.deepEqual(
    (await readKnownHosts(f)).map((e) => e.hosts),
    ['a', 'b'],
  );
});

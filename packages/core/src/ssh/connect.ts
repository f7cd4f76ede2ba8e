/**
 * Opening an SSH connection: identities, host-key policy, fast algorithms, one overall
 * time-out (TCP connect + handshake + authentication, like ssh -o ConnectTimeout), and a
 * distinct error for each way it can fail.
 */
import { getCiphers } from 'node:crypto';
import { Socket } from 'node:net';
import ssh2, { type AnyAuthMethod, type ConnectConfig } from 'ssh2';
import type { Logger } from '../log.js';
import { SshError, SshErrorCode } from './errors.js';
import { checkHostKey, type HostKeyCheck } from './host-key-check.js';
import { answerServerNotices } from './server-notices.js';
import { loadIdentities } from './identities.js';
import { readKnownHosts } from './known-hosts-file.js';
import { knownKeyTypes, orderHostKeyAlgorithms, type KnownHostEntry } from './known-hosts.js';
import { Liveness } from './liveness.js';
import { SshSession } from './session.js';

/** Where and how to connect. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** Private key files, tried in order (passphrase-protected keys need the agent). */
  identityFiles: string[];
  /** Also offer the keys of the ssh-agent at SSH_AUTH_SOCK, when set. */
  useAgent?: boolean;
  knownHostsFile: string;
  hostKeyCheck: HostKeyCheck;
  /** The whole connection set-up must finish within this (ssh_timeout); 0 means no limit. */
  connectTimeoutMs: number;
  /** SSH keepalive period while connected; default 5000 ms. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as dead; default 3. */
  keepaliveCountMax?: number;
  /** Receives ssh2's protocol debug lines (ssh_debug). */
  debug?: (line: string) => void;
}

// AES-GCM first: with AES-NI it is the fastest by far. ssh2 only puts it first when its
// optional cpu-features binding loaded, so we never rely on its default order.
const CIPHER_PREFERENCE: Array<[string, string]> = [
  ['aes128-gcm@openssh.com', 'aes-128-gcm'],
  ['aes256-gcm@openssh.com', 'aes-256-gcm'],
  ['chacha20-poly1305@openssh.com', 'chacha20'],
  ['aes128-ctr', 'aes-128-ctr'],
  ['aes256-ctr', 'aes-256-ctr'],
];
// ssh-rsa (SHA-1 signatures) left out, as OpenSSH 8.8+ does.
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'];

/** Cipher list offered to the server, fastest first, limited to what this OpenSSL provides. */
export function preferredCiphers(): string[] {
  const have = new Set(getCiphers());
  return CIPHER_PREFERENCE.filter(([, ossl]) => have.has(ossl)).map(([name]) => name);
}

// ssh2 is CommonJS whose named exports Node's ESM loader cannot detect: use the default export.
const { Client } = ssh2;

/** Connects and authenticates, or throws an SshError saying exactly what went wrong. */
export async function connectSsh(target: SshTarget, log?: Logger): Promise<SshSession> {
  const { host, port, user } = target;
  const endpoint = `${user}@${host}:${port}`;
  const { keys, skipped } = await loadIdentities(target.identityFiles);
  const agent = target.useAgent && process.env.SSH_AUTH_SOCK ? process.env.SSH_AUTH_SOCK : undefined;
  if (keys.length === 0 && agent === undefined) {
    const files = skipped.length > 0 ? skipped.join(', ') : 'none configured';
    throw new SshError(
      SshErrorCode.NO_IDENTITY,
      `no SSH key to log in to ${endpoint} with: key files: ${files}; ssh-agent: ${target.useAgent ? 'SSH_AUTH_SOCK is not set' : 'not used'}`,
      {
        endpoint,
        hint: `create a key without passphrase for this user: ssh-keygen -t ed25519 -N '' -f ~/.ssh/id_ed25519, then: ssh-copy-id -i ~/.ssh/id_ed25519.pub -p ${port} ${user}@${host}`,
      },
    );
  }
  const entries: KnownHostEntry[] = target.hostKeyCheck === 'no' ? [] : await readKnownHosts(target.knownHostsFile);
  const tried: string[] = [];
  const methods: AnyAuthMethod[] = keys.map((k) => ({ type: 'publickey', username: user, key: k.key }));
  if (agent !== undefined) methods.push({ type: 'agent', username: user, agent });

  return new Promise<SshSession>((resolve, reject) => {
    const client = new Client();
    const sock = new Socket();
    let settled = false;
    let hostKeyError: SshError | undefined;
    let session: SshSession | undefined;
    const fail = (err: SshError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      client.destroy();
      reject(err);
    };
    // One deadline for everything, including a TCP connect that never completes (a dropped
    // SYN) and a listener that accepts but never speaks.
    const timer = setTimeout(
      () => {
        if (target.connectTimeoutMs <= 0) return; // no limit configured
        fail(
          new SshError(SshErrorCode.TIMEOUT, `no answer from ${host}:${port} within ${target.connectTimeoutMs} ms (ssh_timeout)`, {
            endpoint,
            hint: `check that ${host} is up and that a firewall lets port ${port} through; raise ssh_timeout on a slow link`,
          }),
        );
      },
      Math.max(0, target.connectTimeoutMs),
    );

    client.on('error', (err: Error & { level?: string; code?: unknown }) => {
      if (session) {
        session.lastError = err.message;
        log?.debug(`ssh ${endpoint}: ${err.message}`);
        return;
      }
      if (hostKeyError) return fail(hostKeyError);
      const code = typeof err.code === 'string' ? err.code : undefined;
      if (err.level === 'client-authentication') {
        const what = tried.join(', ') || 'no key (the server offered no publickey method)';
        return fail(
          new SshError(
            SshErrorCode.AUTH_FAILED,
            `${endpoint} refused our keys: tried ${what}${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}; ssh-agent ${agent ? 'used' : 'not used'}`,
            {
              endpoint,
              cause: err,
              hint: `add the public key to ~${user}/.ssh/authorized_keys on ${host}, e.g. ssh-copy-id -i ${keys[0]?.file ?? '~/.ssh/id_ed25519'}.pub -p ${port} ${user}@${host}`,
            },
          ),
        );
      }
      if (code === 'ECONNREFUSED') {
        return fail(
          new SshError(SshErrorCode.REFUSED, `connection to ${host}:${port} refused: is sshd running on ${host}:${port}?`, {
            endpoint,
            cause: err,
            hint: `on ${host}: systemctl status ssh (and check its Port/ListenAddress)`,
          }),
        );
      }
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
        return fail(new SshError(SshErrorCode.UNREACHABLE, `cannot resolve host name ${host}`, { endpoint, cause: err }));
      }
      if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') {
        return fail(new SshError(SshErrorCode.UNREACHABLE, `${host}:${port} is unreachable (${code})`, { endpoint, cause: err }));
      }
      fail(new SshError(SshErrorCode.CONNECT_FAILED, `SSH connection to ${host}:${port} failed: ${err.message}`, { endpoint, cause: err }));
    });
    client.on('close', () => {
      if (hostKeyError) return fail(hostKeyError);
      fail(
        new SshError(
          SshErrorCode.CONNECT_FAILED,
          `${host}:${port} closed the connection before we were logged in (not an SSH server, or MaxStartups reached?)`,
          { endpoint },
        ),
      );
    });
    client.on('handshake', (n) => log?.debug(`ssh ${endpoint}: kex ${n.kex}, host key ${n.serverHostKey}, cipher ${n.cs.cipher}`));
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session = new SshSession(client, new Liveness(), endpoint, log);
      resolve(session);
    });

    const config: ConnectConfig = {
      sock,
      username: user,
      readyTimeout: 0, // our own timer covers the whole set-up
      keepaliveInterval: target.keepaliveIntervalMs ?? 5000,
      keepaliveCountMax: target.keepaliveCountMax ?? 3,
      algorithms: {
        cipher: preferredCiphers() as NonNullable<NonNullable<ConnectConfig['algorithms']>['cipher']>,
        serverHostKey: orderHostKeyAlgorithms(HOST_KEY_ALGORITHMS, knownKeyTypes(entries, host, port)) as NonNullable<
          NonNullable<ConnectConfig['algorithms']>['serverHostKey']
        >,
        compress: ['none'],
      },
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void): void => {
        checkHostKey({ mode: target.hostKeyCheck, host, port, knownHostsFile: target.knownHostsFile, entries, offered: key, endpoint, log }).then(
          () => verify(true),
          (err: unknown) => {
            hostKeyError = err instanceof SshError ? err : new SshError(SshErrorCode.KNOWN_HOSTS, String(err), { endpoint });
            verify(false);
          },
        );
      },
      authHandler: (methodsLeft, _partial, next) => {
        // methodsLeft is null on the first call; afterwards skip methods the server stopped offering.
        while (methods.length > 0) {
          const m = methods.shift()!;
          const kind = m.type === 'agent' ? 'agent' : 'publickey';
          if (methodsLeft && !methodsLeft.includes(kind)) continue;
          tried.push(m.type === 'agent' ? 'the ssh-agent keys' : keys.find((k) => k.key === (m as { key: unknown }).key)!.file);
          return next(m);
        }
        return (next as unknown as (v: false) => void)(false);
      },
      ...(target.debug ? { debug: target.debug } : {}),
    };
    sock.setNoDelay(true);
    sock.connect({ host, port });
    try {
      client.connect(config);
      answerServerNotices(client);
    } catch (err) {
      fail(new SshError(SshErrorCode.CONNECT_FAILED, `cannot set up SSH to ${endpoint}: ${(err as Error).message}`, { endpoint, cause: err }));
    }
  });
}

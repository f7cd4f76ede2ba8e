// pitr-test: once (the SSH layer does not depend on the PostgreSQL version)
/**
 * Connecting to a real OpenSSH sshd: host-key policy (known, unknown, changed, hashed,
 * revoked, accept-new, off), and the distinct errors for refused, silent, wrong key, no key.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { memoryLogger } from '../packages/core/src/log.js';
import { connectSsh, SshError, type SshTarget } from '../packages/core/src/ssh/index.js';
import { freePort } from './rig/ports.js';
import { sshTargetFor, startSshd, type SshdHandle } from './rig/sshd.js';
import { makeTempDir } from './rig/tmp.js';

let sshd: SshdHandle | undefined;
const scratchDir = makeTempDir('pitr-ssh-connect-');
const scratch = scratchDir.path;
before(async () => {
  sshd = await startSshd();
});
after(async () => {
  await sshd?.dispose();
  await scratchDir.remove();
});

function target(over: Partial<SshTarget> = {}): SshTarget {
  return sshTargetFor(sshd!, over);
}

/** Runs connectSsh expecting failure; returns the SshError and how long it took. */
async function connectFails(t: SshTarget): Promise<{ err: SshError; ms: number }> {
  const t0 = performance.now();
  try {
    const s = await connectSsh(t);
    await s.close();
  } catch (err) {
    assert.ok(err instanceof SshError, `expected SshError, got ${String(err)}`);
    return { err, ms: performance.now() - t0 };
  }
  assert.fail('connectSsh succeeded where it should have failed');
}

function otherPublicKey(name: string): string {
  const f = join(scratch, name);
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
  return readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

function knownHosts(name: string, text: string): string {
  const f = join(scratch, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
}

describe('host keys', () => {
  test('known [127.0.0.1]:port entry is accepted, and the server offers the OpenSSH extensions we rely on', async () => {
    const s = await connectSsh(target());
    try {
      const ext = await s.extensions();
      for (const e of ['hardlink@openssh.com', 'fsync@openssh.com']) assert.ok(e in ext, `${e} advertised`);
    } finally {
      await s.close();
    }
  });

  test('a different key on file for the host → SSH_HOSTKEY_CHANGED with the ssh-keygen -R hint', async () => {
    const f = knownHosts('kh-changed', `[127.0.0.1]:${sshd!.port} ${otherPublicKey('other1')}\n`);
    const { err } = await connectFails(target({ knownHostsFile: f }));
    assert.equal(err.code, 'SSH_HOSTKEY_CHANGED');
    assert.match(err.hint ?? '', /ssh-keygen -R '\[127\.0\.0\.1\]:\d+'/);
    // accept-new never accepts a changed key either
    const again = await connectFails(target({ knownHostsFile: f, hostKeyCheck: 'accept-new' }));
    assert.equal(again.err.code, 'SSH_HOSTKEY_CHANGED');
    assert.equal(readFileSync(f, 'utf8').split('\n').filter(Boolean).length, 1, 'file unchanged');
  });

  test("unknown host with 'yes' → SSH_HOSTKEY_UNKNOWN naming the fingerprint ssh-keygen -l prints", async () => {
    const f = knownHosts('kh-other-host', `[127.0.0.1]:1 ${sshd!.hostPublicKey}\nsomewhere.example ${sshd!.hostPublicKey}\n`);
    const { err } = await connectFails(target({ knownHostsFile: f }));
    assert.equal(err.code, 'SSH_HOSTKEY_UNKNOWN');
    const fp = spawnSync('ssh-keygen', ['-lf', join(sshd!.dir, 'host_ed25519_key.pub')], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    assert.match(fp, /^SHA256:/);
    assert.ok(err.message.includes(fp), `${err.message} names ${fp}`);
    assert.match(err.hint ?? '', new RegExp(`ssh-keyscan -p ${sshd!.port} 127\\.0\\.0\\.1 >>`));
    assert.match(err.hint ?? '', /accept-new/);
  });

  test("unknown host with 'accept-new' → accepted, and known_hosts (created 0600) gained the line", async () => {
    const f = join(scratch, 'new-dir', 'known_hosts');
    const log = memoryLogger();
    const s = await connectSsh(target({ knownHostsFile: f, hostKeyCheck: 'accept-new' }), log);
    await s.close();
    assert.deepEqual(readFileSync(f, 'utf8'), `[127.0.0.1]:${sshd!.port} ${sshd!.hostPublicKey}\n`);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.ok(log.messages.some(([lvl, m]) => lvl === 'NOTICE' && m.includes('added')));
    // ssh(1) itself agrees with what we wrote
    const r = spawnSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd!.port}`, '-f', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // and now it is known: strict checking passes
    const s2 = await connectSsh(target({ knownHostsFile: f }));
    await s2.close();
  });

  test('hashed entry (hashed by ssh-keygen -H) is accepted', async () => {
    const f = knownHosts('kh-hashed', `[127.0.0.1]:${sshd!.port} ${sshd!.hostPublicKey}\n`);
    const r = spawnSync('ssh-keygen', ['-H', '-f', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(f, 'utf8'), /^\|1\|/);
    const s = await connectSsh(target({ knownHostsFile: f }));
    await s.close();
  });

  test('comma-separated host list entry is accepted', async () => {
    const f = knownHosts('kh-list', `standby1,[127.0.0.1]:${sshd!.port},10.0.0.9 ${sshd!.hostPublicKey}\n`);
    const s = await connectSsh(target({ knownHostsFile: f }));
    await s.close();
  });

  test('@revoked key → SSH_HOSTKEY_REVOKED even with a valid line too', async () => {
    const f = knownHosts('kh-revoked', `[127.0.0.1]:${sshd!.port} ${sshd!.hostPublicKey}\n@revoked * ${sshd!.hostPublicKey}\n`);
    const { err } = await connectFails(target({ knownHostsFile: f }));
    assert.equal(err.code, 'SSH_HOSTKEY_REVOKED');
  });

  test("'no' accepts a wrong key but warns exactly once", async () => {
    const f = knownHosts('kh-off', `[127.0.0.1]:${sshd!.port} ${otherPublicKey('other2')}\n`);
    const log = memoryLogger();
    const s = await connectSsh(target({ knownHostsFile: f, hostKeyCheck: 'no' }), log);
    await s.close();
    assert.equal(log.messages.filter(([lvl]) => lvl === 'WARNING').length, 1);
  });
});

describe('connection failures', () => {
  test('nothing listening → SSH_REFUSED, fast', async () => {
    const port = await freePort();
    // Fast: at the refusal, not at ssh_timeout (set long here, so that a busy machine cannot blur the two).
    const { err, ms } = await connectFails(target({ port, connectTimeoutMs: 30_000 }));
    assert.equal(err.code, 'SSH_REFUSED');
    assert.match(err.message, new RegExp(`is sshd running on 127\\.0\\.0\\.1:${port}\\?`));
    assert.ok(ms < 10_000, `took ${ms} ms`);
  });

  test('a listener that accepts TCP but never speaks → SSH_TIMEOUT within ssh_timeout', async () => {
    const socks: Socket[] = [];
    const srv = createServer((c) => {
      socks.push(c);
    }); // accept and say nothing
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    after(() => {
      for (const c of socks) c.destroy();
      srv.close();
    });
    const port = (srv.address() as { port: number }).port;
    const timeout = 1000;
    const { err, ms } = await connectFails(target({ port, connectTimeoutMs: timeout }));
    assert.equal(err.code, 'SSH_TIMEOUT');
    assert.ok(ms >= timeout - 20 && ms < timeout + 500, `failed after ${ms.toFixed(0)} ms, ssh_timeout ${timeout} ms`);
    console.log(`SSH_TIMEOUT after ${ms.toFixed(0)} ms (ssh_timeout ${timeout} ms)`);
  });

  test('a TCP connect that hangs (listener stopped, accept queue full: SYNs dropped) → SSH_TIMEOUT within ssh_timeout', async (t) => {
    // A stopped process's listening socket with backlog 1: the kernel completes two handshakes
    // into the accept queue, then drops further SYNs, so the next connect() just waits.
    const child = spawn(
      process.execPath,
      ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    after(() => {
      child.kill('SIGKILL');
    });
    const port = await new Promise<number>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
    child.kill('SIGSTOP');
    const fillers: Socket[] = [];
    after(() => {
      for (const f of fillers) f.destroy();
    });
    for (let i = 0; i < 4; i++) fillers.push(connect({ host: '127.0.0.1', port }).on('error', () => undefined));
    const probe = (): Promise<boolean> =>
      new Promise((resolve) => {
        const p = connect({ host: '127.0.0.1', port });
        const t = setTimeout(() => {
          p.destroy();
          resolve(false);
        }, 300);
        p.once('connect', () => {
          clearTimeout(t);
          p.destroy();
          resolve(true);
        });
        p.once('error', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
    // Once probes stop connecting, the queue is full: connect() hangs.
    const end = Date.now() + 5000;
    let hangs = false;
    while (!hangs && Date.now() < end) hangs = !(await probe());
    if (!hangs) {
      t.skip('this kernel kept completing connections; could not make connect() hang');
      return;
    }
    const timeout = 1000;
    const { err, ms } = await connectFails(target({ port, connectTimeoutMs: timeout }));
    assert.equal(err.code, 'SSH_TIMEOUT');
    assert.ok(ms >= timeout - 20 && ms < timeout + 500, `failed after ${ms.toFixed(0)} ms`);
  });

  test('a key the server does not know → SSH_AUTH_FAILED naming the user and the key files', async () => {
    const wrong = join(scratch, 'wrong_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
    const missing = join(scratch, 'no_such_key');
    const { err } = await connectFails(target({ identityFiles: [missing, wrong] }));
    assert.equal(err.code, 'SSH_AUTH_FAILED');
    assert.ok(err.message.includes(`${sshd!.user}@127.0.0.1:${sshd!.port}`), err.message);
    assert.ok(err.message.includes(wrong), err.message);
    assert.ok(err.message.includes(`${missing} (missing)`), err.message);
    assert.match(err.message, /ssh-agent not used/);
  });

  test('the right key after a wrong one is found (keys tried in order)', async () => {
    const wrong = join(scratch, 'wrong_key2');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
    const s = await connectSsh(target({ identityFiles: [wrong, sshd!.clientKey] }));
    await s.close();
  });

  test('no usable key and no agent → SSH_NO_IDENTITY', async () => {
    const pub = `${sshd!.clientKey}.pub`;
    const locked = join(scratch, 'locked_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret words', '-f', locked]);
    const { err } = await connectFails(target({ identityFiles: [join(scratch, 'nope'), pub, locked], useAgent: false }));
    assert.equal(err.code, 'SSH_NO_IDENTITY');
    assert.match(err.message, /nope \(missing\)/);
    assert.match(err.message, /public key/);
    assert.match(err.message, /locked_key \(passphrase-protected/);
    assert.match(err.hint ?? '', /ssh-copy-id/);
  });

  test('ssh-agent: with no key file, the agent at SSH_AUTH_SOCK logs us in', async () => {
    const sock = join(scratch, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    after(() => {
      agent.kill('SIGTERM');
    });
    const end = Date.now() + 5000;
    while (!existsSync(sock) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const add = spawnSync('ssh-add', [sshd!.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
    assert.equal(add.status, 0, add.stderr);
    const saved = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = sock;
    try {
      const s = await connectSsh(target({ identityFiles: [], useAgent: true }));
      await s.close();
      const { err } = await connectFails(target({ identityFiles: [], useAgent: false }));
      assert.equal(err.code, 'SSH_NO_IDENTITY');
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
    }
  });
});

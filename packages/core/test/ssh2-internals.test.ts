/**
 * The private parts of ssh2 that we reach into (docs/performance.md lists why each is worth it):
 * each is looked up on real ssh2 objects, a Client talking to ssh2's own in-process Server on
 * 127.0.0.1, so an ssh2 upgrade that renames or reshapes one fails here instead of silently
 * switching the trick off (the code falls back to ssh2's own behaviour when a field is missing,
 * so nothing else would notice). ssh2 is pinned to one version in packages/core/package.json.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import ssh2, { type Client as ClientT, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { answerServerNotices } from '../src/ssh/server-notices.js';
import { SftpChannel } from '../src/ssh/sftp-channel.js';
import { Liveness } from '../src/ssh/liveness.js';

const { Client, Server, utils } = ssh2;
type Obj = Record<string, unknown>;
const field = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k], o);

let server: InstanceType<typeof Server>;
let client: ClientT;
let originalGlobalRequest: unknown;

before(async () => {
  const hostKey = utils.generateKeyPairSync('ed25519').private;
  server = new Server({ hostKeys: [hostKey], ident: 'OpenSSH_9.2p1' }, (conn) => {
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('ready', () =>
      conn.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (ok) => {
          ok();
        });
        session.on('exec', (ok) => {
          ok();
        }); // a channel that stays open until the client closes it
      }),
    );
    conn.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new Client();
  const ready = new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
  client.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'u', password: 'p', hostVerifier: () => true });
  originalGlobalRequest = field(client, '_protocol', '_handlers', 'GLOBAL_REQUEST');
  answerServerNotices(client);
  await ready;
});
after(async () => {
  client?.end();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('ssh2 internals we rely on', () => {
  it('the installed ssh2 is the exact version packages/core/package.json pins', () => {
    const pin = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Obj }).dependencies.ssh2;
    assert.match(String(pin), /^\d+\.\d+\.\d+$/, 'ssh2 must be pinned to one version (no ^ or ~): its private fields are patched');
    const installed = (createRequire(import.meta.url)('ssh2/package.json') as { version: string }).version;
    assert.equal(installed, pin);
  });

  it('server-notices.ts: Client._protocol with _handlers.GLOBAL_REQUEST/DEBUG, _packetRW.write, _cipher.encrypt, _kexinit', () => {
    const proto = field(client, '_protocol') as Obj;
    assert.equal(typeof proto, 'object');
    assert.equal(typeof originalGlobalRequest, 'function', 'Protocol._handlers.GLOBAL_REQUEST is gone');
    const handlers = proto._handlers as Obj;
    // answerServerNotices replaced both handlers (it leaves them alone when the shape is not there).
    assert.notEqual(handlers.GLOBAL_REQUEST, originalGlobalRequest, 'answerServerNotices did not install its handler');
    assert.equal(typeof handlers.DEBUG, 'function');
    assert.equal(typeof proto.requestSuccess, 'function');
    const w = field(proto, '_packetRW', 'write') as Obj;
    assert.equal(typeof w.allocStart, 'number');
    assert.equal(typeof w.alloc, 'function');
    assert.equal(typeof w.finalize, 'function');
    assert.equal(typeof field(proto, '_cipher', 'encrypt'), 'function');
    assert.ok('_kexinit' in proto, 'Protocol._kexinit (key exchange in progress) is gone');
    assert.equal(proto._kexinit, undefined, 'no key exchange runs after login');
  });

  it('server-notices.ts: an IGNORE built the way sendIgnore builds it goes out and the connection stays usable', async () => {
    const proto = field(client, '_protocol') as { _handlers: { DEBUG: (p: unknown, d: boolean, m: string) => void } };
    proto._handlers.DEBUG(proto, false, 'a notice'); // schedules one IGNORE on the next turn
    await new Promise((r) => setImmediate(r));
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((e, s) => (e ? reject(e) : resolve(s))));
    sftp.end();
  });

  it('sftp-channel.ts: SFTPWrapper._extensions, _maxWriteLen, _maxReadLen, read by SftpChannel', async () => {
    const raw = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((e, s) => (e ? reject(e) : resolve(s))));
    try {
      const r = raw as unknown as Obj;
      assert.equal(typeof r._extensions, 'object');
      assert.ok(r._extensions !== null);
      for (const k of ['_maxWriteLen', '_maxReadLen'] as const) {
        assert.equal(typeof r[k], 'number', `SFTPWrapper.${k} is gone`);
        assert.ok((r[k] as number) > 32 * 1024, `SFTPWrapper.${k} = ${String(r[k])}`);
      }
      const ch = new SftpChannel(raw, new Liveness(), 'u@127.0.0.1');
      assert.equal(ch.maxWrite, r._maxWriteLen, 'SftpChannel.maxWrite fell back to its default');
      assert.equal(ch.maxRead, r._maxReadLen);
    } finally {
      raw.end();
    }
  });

  it('exec.ts: ClientChannel.outgoing {id, state} and _client._protocol.signal', async () => {
    const ch = await new Promise<ClientChannel>((resolve, reject) => client.exec('sleep 60', (e, c) => (e ? reject(e) : resolve(c))));
    try {
      const c = ch as unknown as Obj;
      assert.equal(typeof field(c, 'outgoing', 'id'), 'number');
      assert.equal(field(c, 'outgoing', 'state'), 'open');
      assert.equal(field(c, '_client'), client);
      assert.equal(typeof field(c, '_client', '_protocol', 'signal'), 'function');
    } finally {
      ch.close();
    }
  });
});

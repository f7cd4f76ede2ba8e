// pitr-test: once (the SSH layer does not depend on the PostgreSQL version)
/**
 * Remote commands (exit codes, hostile arguments, stdin, signals, time-out) and forwards
 * (TCP echo, Unix-socket echo, and node-postgres talking to a real PostgreSQL through SSH).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { pgStreamFactory, SshError } from '../packages/core/src/ssh/index.js';
import { cleanupAll } from './rig/cleanup.js';
import { freePort } from './rig/ports.js';
import { startPostgres, type PgCluster } from './rig/postgres.js';
import { sshSessionFixture } from './rig/ssh-session.js';

const { session: s, work } = sshSessionFixture('pitr-ssh-exec-');
after(cleanupAll);

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('exec', () => {
  test('exit codes', async () => {
    assert.equal((await s().exec(['true'])).code, 0);
    assert.equal((await s().exec(['sh', '-c', 'exit 3'])).code, 3);
    const r = await s().exec(['sh', '-c', 'echo oops >&2; exit 1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.toString(), 'oops\n');
  });

  test('hostile arguments arrive byte for byte and nothing runs', async () => {
    const pwned = join(work.path, 'PWNED');
    const hostile = [
      "it's",
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      `; touch ${pwned}`,
      `a\nb; touch ${pwned}`,
      '"double"',
      '\\',
      '  spaced  ',
      '',
      '*',
      '~',
      '$HOME',
      '!!',
      "''",
      "'\\''",
      '#',
      '&',
      '|',
      '>x',
      'ümlaut €',
      '-n',
    ];
    const r = await s().exec(['printf', '%s\\n', ...hostile]);
    assert.equal(r.code, 0, r.stderr.toString());
    assert.equal(r.stdout.toString(), hostile.map((a) => `${a}\n`).join(''));
    assert.ok(!existsSync(pwned), 'no injected command ran');
  });

  test('stdin is fed and closed', async () => {
    const input = randomBytes(300_000);
    const r = await s().exec(['cat'], { stdin: input });
    assert.equal(r.code, 0);
    assert.ok(r.stdout.equals(input));
  });

  test('death by signal is reported', async () => {
    const r = await s().exec(['sh', '-c', 'kill -TERM $$']);
    assert.equal(r.code, null);
    assert.equal(r.signal, 'SIGTERM');
  });

  test('time-out → SSH_EXEC_TIMEOUT, promptly; the command is killed', async () => {
    const marker = '37.4242';
    const t0 = performance.now();
    await assert.rejects(s().exec(['sleep', marker], { timeoutMs: 300 }), (e: unknown) => e instanceof SshError && e.code === 'SSH_EXEC_TIMEOUT');
    const ms = performance.now() - t0;
    assert.ok(ms < 15_000, `${ms} ms (the command sleeps 37 s)`);
    const sleeping = (): boolean =>
      readdirSync('/proc').some((p) => {
        try {
          return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      });
    assert.ok(await until(() => !sleeping(), 3000), 'remote sleep still running');
  });
});

function echoServer(listen: (srv: Server) => void): Promise<Server> {
  const srv = createServer((c) => c.pipe(c));
  return new Promise((resolve) => {
    srv.once('listening', () => resolve(srv));
    listen(srv);
  });
}

async function roundTrip(stream: NodeJS.ReadWriteStream & { end(): void }, payload: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      parts.push(c);
      n += c.length;
      if (n >= payload.length) {
        stream.end();
        resolve(Buffer.concat(parts));
      }
    });
    stream.on('error', reject);
    stream.write(payload);
  });
}

describe('forwards', () => {
  test('forwardOut: TCP echo through the SSH connection', async () => {
    const srv = await echoServer((x) => x.listen(0, '127.0.0.1'));
    after(() => srv.close());
    const port = (srv.address() as { port: number }).port;
    const payload = randomBytes(3 * 1024 * 1024);
    const back = await roundTrip(await s().forwardOut('127.0.0.1', port), payload);
    assert.ok(back.equals(payload));
  });

  test('forwardOut to a closed port → SSH_FORWARD_FAILED', async () => {
    const port = await freePort();
    await assert.rejects(s().forwardOut('127.0.0.1', port), (e: unknown) => e instanceof SshError && e.code === 'SSH_FORWARD_FAILED');
  });

  test('openStreamLocal: Unix socket echo', async () => {
    const path = join(work.path, 'echo.sock');
    const srv = await echoServer((x) => x.listen(path));
    after(() => srv.close());
    const payload = randomBytes(100_000);
    const back = await roundTrip(await s().openStreamLocal(path), payload);
    assert.ok(back.equals(payload));
  });
});

describe('node-postgres through SSH (pgStreamFactory)', () => {
  let cluster: PgCluster | undefined;
  before(async () => {
    cluster = await startPostgres({ name: 'ssh-fwd' });
  });
  after(() => cluster?.destroy());

  for (const via of ['tcp', 'unix socket'] as const) {
    test(`query over a ${via} forward`, async () => {
      const c = cluster!;
      const host = via === 'tcp' ? '127.0.0.1' : c.socketDir;
      const client = new pg.Client({ user: c.user, database: 'postgres', host, port: c.port, stream: pgStreamFactory(s(), host, c.port) });
      await client.connect();
      try {
        const r = await client.query<{ port: string; n: number; big: string }>(
          "select current_setting('port') as port, $1::int + 1 as n, repeat('x', 1000000) as big",
          [41],
        );
        assert.equal(r.rows[0]!.port, String(c.port));
        assert.equal(r.rows[0]!.n, 42);
        assert.equal(r.rows[0]!.big.length, 1_000_000);
      } finally {
        await client.end();
      }
    });
  }
});

/**
 * The warm-path client against fake daemons on a real unix socket: it believes only a proper
 * final answer and falls back on everything else (no socket, garbage, silence, a hang-up, a
 * `fallback`, a socket in a directory others can write to).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { askDaemon } from '../src/warm/client.js';
import { peekArchiveDir } from '../src/warm/ini-peek.js';
import { parseReply, parseRequest } from '../src/warm/protocol.js';
import { privateDirProblem, socketPlace } from '../src/warm/socket-path.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-warm-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const qdir = join(dir, 'q');
mkdirSync(qdir, { mode: 0o700 });
const ini = join(dir, 'a.ini');
writeFileSync(ini, `[DEFAULT]\npgdata: /pg\nl_archivedir: ${qdir}/ ; the queues\nslaves: s1\nr_archivedir: /a\n`);
const sock = join(qdir, '.cmd_queue.sock');

async function withDaemon<T>(onConn: (c: Socket, line: string) => void, fn: () => Promise<T>): Promise<T> {
  const server: Server = createServer((c) => {
    c.setEncoding('utf8');
    let buf = '';
    c.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) onConn(c, buf.slice(0, buf.indexOf('\n')));
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    return await fn();
  } finally {
    server.close();
    rmSync(sock, { force: true });
  }
}
const t = { connectMs: 200, firstReplyMs: 300 };

describe('askDaemon', () => {
  it('an l_archivedir written with %(key)s interpolation is found through the full loader', async () => {
    const interp = join(dir, 'interp.ini');
    writeFileSync(interp, `[DEFAULT]\npgdata: ${dir}/pg\nl_archivedir: %(pgdata)s/../q\nslaves: s1\nr_archivedir: /a\n`);
    assert.equal(peekArchiveDir(readFileSync(interp, 'utf8'), interp, '/h'), undefined);
    const a = await withDaemon(
      (c) => c.write('{"status":"ok"}\n'),
      () => askDaemon(interp, 'pg_wal/x', t),
    );
    assert.deepEqual(a, { verdict: { kind: 'archived' } });
  });

  it('no socket → fallback', async () => {
    const a = await askDaemon(ini, 'pg_wal/x', t);
    assert.ok('fallback' in a && /ENOENT|ECONNREFUSED/.test(a.fallback), JSON.stringify(a));
  });

  it('sends the request with the real ini path and believes working + ok / a conflict or offline verdict', async () => {
    const seg = '000000010000000000000001';
    const answers: Array<[unknown, unknown]> = [
      [{ status: 'ok' }, { verdict: { kind: 'archived' } }],
      [
        { status: 'verdict', verdict: { kind: 'conflict', segment: seg, detail: 's1: CONFLICT' } },
        { verdict: { kind: 'conflict', segment: seg, detail: 's1: CONFLICT' } },
      ],
      [{ status: 'verdict', verdict: { kind: 'offline', segment: seg, configFile: ini } }, { verdict: { kind: 'offline', segment: seg, configFile: ini } }],
    ];
    for (const [reply, want] of answers) {
      let got: unknown;
      const a = await withDaemon(
        (c, line) => {
          got = parseRequest(line);
          c.write('{"status":"working","deadlineMs":2000}\n');
          setTimeout(() => c.write(`${JSON.stringify(reply)}\n`), 50);
        },
        () => askDaemon(ini, `pg_wal/${seg}`, t),
      );
      assert.deepEqual(got, { v: 2, op: 'archive', config: ini, file: `pg_wal/${seg}` });
      assert.deepEqual(a, want);
    }
  });

  it('a failed verdict is never final over the socket (the client does the job itself and queues): malformed', () => {
    assert.equal(parseReply(JSON.stringify({ status: 'verdict', verdict: { kind: 'failed', segment: 'x', detail: 'd' } })), undefined);
    assert.equal(parseReply(JSON.stringify({ status: 'verdict', verdict: { kind: 'conflict', segment: 'x' } })), undefined);
  });

  for (const [what, behave, reason] of [
    ['garbage', (c: Socket) => c.write('HTTP/1.1 200 OK\n'), /not an answer/],
    ['silence', () => undefined, /no answer from cmd_queue within 300 ms/],
    [
      'a hang-up after working',
      (c: Socket) => {
        c.write('{"status":"working","deadlineMs":5000}\n');
        c.end();
      },
      /closed the connection/,
    ],
    ['working, then nothing within its deadline', (c: Socket) => c.write('{"status":"working","deadlineMs":200}\n'), /no verdict from cmd_queue within 200 ms/],
    ['a fallback answer', (c: Socket) => c.write('{"status":"fallback","message":"not mine"}\n'), /cmd_queue: not mine/],
  ] as const) {
    it(`${what} → fallback`, async () => {
      const a = await withDaemon(
        (c) => behave(c),
        () => askDaemon(ini, 'pg_wal/x', t),
      );
      assert.ok('fallback' in a, JSON.stringify(a));
      assert.match(a.fallback, reason);
    });
  }

  it('a socket directory that others can write to is not trusted', async () => {
    chmodSync(qdir, 0o777);
    try {
      const a = await withDaemon(
        (c) => c.write('{"status":"ok"}\n'),
        () => askDaemon(ini, 'pg_wal/x', t),
      );
      assert.ok('fallback' in a && /writable by others/.test(a.fallback), JSON.stringify(a));
    } finally {
      chmodSync(qdir, 0o700);
    }
  });
});

describe('socket place, ini peek, protocol', () => {
  it('socket in l_archivedir when short, else a hashed name in a private per-user dir', async () => {
    assert.deepEqual(socketPlace('/var/q', {}, 1000), { dir: '/var/q', path: '/var/q/.cmd_queue.sock', ownDir: false });
    const long = `/${'x'.repeat(120)}`;
    const p = socketPlace(long, { XDG_RUNTIME_DIR: '/run/user/1000' }, 1000);
    assert.equal(p.dir, '/run/user/1000/pitrtools');
    assert.match(p.path, /^\/run\/user\/1000\/pitrtools\/[0-9a-f]{16}\.sock$/);
    assert.equal(socketPlace(long, {}, 1000).dir, '/tmp/pitrtools-1000');
    assert.equal(await privateDirProblem(qdir), undefined);
    assert.match((await privateDirProblem(ini)) ?? '', /not a directory/);
    assert.match((await privateDirProblem(join(dir, 'nope'))) ?? '', /ENOENT/);
  });

  it('peekArchiveDir reads what the loader reads, and gives up on interpolation', () => {
    assert.equal(peekArchiveDir('l_archivedir: /a/b/ ; c\n', 'f', '/home/x'), '/a/b');
    assert.equal(peekArchiveDir('[DEFAULT]\nl_archivedir = ~/q\n', 'f', '/home/x'), '/home/x/q');
    assert.equal(peekArchiveDir('base: /x\nl_archivedir: %(base)s/q\n', 'f', '/h'), undefined);
    assert.equal(peekArchiveDir('pgdata: /x\n', 'f', '/h'), undefined);
    assert.equal(peekArchiveDir('l_archivedir: relative\n', 'f', '/h'), undefined);
  });

  it('parseReply/parseRequest reject anything malformed', () => {
    assert.equal(parseReply('{"status":"ok"'), undefined);
    assert.equal(parseReply('{"status":"done"}'), undefined);
    assert.equal(parseReply('{"status":"working","deadlineMs":-1}'), undefined);
    assert.deepEqual(parseReply('{"status":"ok"}'), { status: 'ok' });
    assert.equal(parseRequest('{"v":1,"op":"archive","config":"a","file":"b"}'), undefined, 'another protocol version');
    assert.equal(parseRequest('{"v":2,"op":"archive","config":"a"}'), undefined);
  });
});

/**
 * A delaying TCP relay: the one-way delay of a long path, because this kernel has no netem.
 * Listens on 127.0.0.1 (an ephemeral port) in the namespace it runs in, connects each accepted
 * client to --to HOST:PORT across the shaped veth, and holds every chunk --delay-ms milliseconds
 * in each direction before passing it on; the upstream connect is held as long (the SYN's trip),
 * so a client sees an SSH banner one round trip after it connected, as on a real path.
 *
 * Limits (say them next to every figure measured through it):
 * - It terminates TCP: the sender's congestion window and ACK clock see the relay on loopback,
 *   not the 2 x delay path. Slow start and loss recovery over a long path are not simulated;
 *   what is simulated is every request/response round trip an application protocol waits for.
 * - Each direction holds at most --buffer bytes (default 16 MiB, above 1 Gbit/s x 60 ms = 7.5 MB);
 *   beyond that it stops reading, so a sender's window larger than that is capped by the relay.
 * - One extra copy of every byte through this Node.js process, and its own CPU (~0.3 ms per MB
 *   here) on the same 2 cores as everything else.
 * Usage: node --import tsx bench/delay-relay.ts --to HOST:PORT --delay-ms D [--buffer BYTES]
 * prints "listening PORT" on stdout once it accepts connections; SIGTERM ends it.
 */
import { createServer, connect, type Socket } from 'node:net';

/** Pipes `from` into `to`, each chunk released `delayMs` after it was read; at most `bound` bytes held. */
function delayedPipe(from: Socket, to: Socket, delayMs: number, bound: number): void {
  const queue: { buf: Buffer; due: number }[] = [];
  let held = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const heldNow = (): number => held + to.writableLength;
  const release = (): void => {
    timer = undefined;
    const t = performance.now();
    while (queue.length && queue[0]!.due <= t + 0.5) {
      const { buf } = queue.shift()!;
      held -= buf.length;
      to.write(buf);
    }
    if (queue.length) timer = setTimeout(release, queue[0]!.due - performance.now());
    else if (ended) to.end();
    if (from.isPaused() && heldNow() < bound) from.resume();
  };
  from.on('data', (buf: Buffer) => {
    queue.push({ buf, due: performance.now() + delayMs });
    held += buf.length;
    if (heldNow() >= bound) from.pause();
    timer ??= setTimeout(release, delayMs);
  });
  to.on('drain', () => {
    if (from.isPaused() && heldNow() < bound) from.resume();
  });
  from.on('end', () => {
    ended = true;
    if (!queue.length && !timer) to.end();
  });
}

/** Starts the relay; resolves with its port on 127.0.0.1. */
export function startDelayRelay(toHost: string, toPort: number, delayMs: number, bound = 16 * 2 ** 20): Promise<{ port: number; close(): void }> {
  const server = createServer({ noDelay: true }, (client) => {
    client.pause();
    const hold = setTimeout(() => {
      const up = connect({ host: toHost, port: toPort, noDelay: true }, () => {
        delayedPipe(client, up, delayMs, bound);
        delayedPipe(up, client, delayMs, bound);
        client.resume();
      });
      const kill = (): void => {
        client.destroy();
        up.destroy();
      };
      up.on('error', kill);
      client.on('error', kill);
      up.on('close', () => setTimeout(() => client.destroy(), delayMs + 50));
      client.on('close', () => setTimeout(() => up.destroy(), delayMs + 50));
    }, delayMs);
    client.on('close', () => clearTimeout(hold));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ port: typeof a === 'object' && a ? a.port : 0, close: () => server.close() });
    });
  });
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (isMain) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const to = arg('--to') ?? '';
  const delay = Number(arg('--delay-ms'));
  const [host, port] = [to.slice(0, to.lastIndexOf(':')), Number(to.slice(to.lastIndexOf(':') + 1))];
  if (!host || !port || !Number.isFinite(delay) || delay < 0) {
    console.error('usage: delay-relay.ts --to HOST:PORT --delay-ms D [--buffer BYTES]');
    process.exit(2);
  }
  const r = await startDelayRelay(host, port, delay, Number(arg('--buffer') ?? 16 * 2 ** 20));
  console.log(`listening ${r.port}`);
  process.on('SIGTERM', () => process.exit(0));
}

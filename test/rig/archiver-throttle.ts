/**
 * A TCP relay on 127.0.0.1 that slows the client-to-server direction down to a chosen rate, so
 * that a 16 MiB upload takes seconds and a test can act in the middle of it.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { onCleanup } from './cleanup.js';

/** A running relay. */
export interface Throttle {
  port: number;
  /** Bytes per second from client to server; null = as fast as it goes. */
  setRate(bytesPerSec: number | null): void;
  close(): Promise<void>;
}

/** Relays 127.0.0.1:<new port> to 127.0.0.1:targetPort at `bytesPerSec` upstream. */
export async function startThrottle(targetPort: number, bytesPerSec: number | null): Promise<Throttle> {
  let rate = bytesPerSec;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    const t0 = Date.now();
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      sent += chunk.length;
      if (rate === null) return;
      const due = (sent / rate) * 1000 - (Date.now() - t0);
      if (due > 0) {
        client.pause();
        setTimeout(() => client.resume(), Math.min(due, 1000));
      }
    });
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  onCleanup(`throttle :${port}`, close);
  return {
    port,
    setRate: (r) => {
      rate = r;
    },
    close,
  };
}

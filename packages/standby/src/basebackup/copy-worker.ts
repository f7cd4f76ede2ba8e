/** Entry of a copy worker thread of -B: serves the engine's messages (copy-service.ts) on parentPort. */
import { parentPort } from 'node:worker_threads';
import { serveCopy } from './copy-service.js';

serveCopy(
  parentPort ??
    ((): never => {
      throw new Error('copy-worker.js runs as a worker thread of cmd_standby -B');
    })(),
);

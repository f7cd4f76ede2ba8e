/**
 * ssh2 allocates a new buffer for every SFTP write (255 KiB) and every SSH packet (32 KiB).
 * They are garbage as soon as they are on the socket, but they live outside V8's heap, and V8
 * collects them only once tens of megabytes have piled up: that pile was most of a standalone
 * run's peak RSS (and of cmd_queue's). A minor GC every few milliseconds while uploads run
 * frees them as they die, at no measurable cost in time. The sh front end and the spawn of
 * cmd_queue pass --expose-gc; a process started any other way (cmd_queue by hand or from
 * systemd) switches the flag on itself and takes gc() from a fresh context. Off: PITR_GC_PACING=off
 * (docs/performance.md).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const EVERY_MS = 5;

type Gc = (o: { type: 'minor' }) => void;
let exposed: Gc | undefined;

function gcFunction(): Gc | undefined {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- gc() is typed as returning a Promise for { execution: 'async' }; we never ask for that
  if (typeof globalThis.gc === 'function') return globalThis.gc as Gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    if (typeof fn === 'function') exposed = fn as Gc;
  } catch {
    // No gc() then: uploads work the same, with more memory.
  }
  return exposed;
}
let holders = 0;
let timer: NodeJS.Timeout | undefined;

/** Keeps minor GCs running (if `gc` is exposed) until the returned function is called; nests. */
export function paceGc(): () => void {
  if (process.env.PITR_GC_PACING === 'off') return () => undefined;
  const collect = gcFunction();
  if (!collect) return () => undefined;
  if (holders++ === 0) {
    timer = setInterval(() => collect({ type: 'minor' }), EVERY_MS);
    timer.unref();
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) clearInterval(timer);
  };
}

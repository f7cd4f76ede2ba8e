/**
 * ssh2 allocates a new buffer for every SFTP write (255 KiB) and every SSH packet (32 KiB).
 * They are garbage as soon as they are on the socket, but they live outside V8's heap, and V8
 * collects them only once tens of megabytes have piled up: that pile was most of a standalone
 * run's peak RSS (and of cmd_queue's). With --expose-gc (the sh front end and the spawn of
 * cmd_queue pass it) a minor GC every few milliseconds while uploads run frees them as they
 * die, at no measurable cost in time.
 */

const EVERY_MS = 5;
let holders = 0;
let timer: NodeJS.Timeout | undefined;

/** Keeps minor GCs running (if `gc` is exposed) until the returned function is called; nests. */
export function paceGc(): () => void {
  const collect = globalThis.gc;
  if (typeof collect !== 'function') return () => undefined;
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

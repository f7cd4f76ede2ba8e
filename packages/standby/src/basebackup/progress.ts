/**
 * Progress of -B: on a TTY one line redrawn in place (bytes, rate, ETA); otherwise nothing until
 * the summary line. Formatting is pure; the writer is handed in.
 */
import { humanBytes } from '@pitrtools/core/bytes';

/** Where progress goes: a TTY stream, or nothing. */
export interface ProgressSink {
  isTTY: boolean;
  write(text: string): void;
}

/** One progress line, e.g. "-B: 312.0 MiB of 1.0 GiB (30%), 152.0 MiB/s, ETA 5 s". */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
  const eta = rate > 0 && total > done ? `, ETA ${formatDuration(((total - done) / rate) * 1000)}` : '';
  return `-B: ${humanBytes(done)} of ${humanBytes(total)} (${pct}%), ${humanBytes(Math.round(rate))}/s${eta}`;
}

/** 850 ms → "0.9 s", 75 s → "1 min 15 s". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** A redrawing progress meter; call add() as bytes arrive and end() before printing anything else. */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;

  /** `total`: bytes to copy, or a function of what is known so far (it grows while the walk goes on). */
  constructor(
    private readonly sink: ProgressSink | undefined,
    private readonly total: number | (() => number),
  ) {
    if (sink?.isTTY) {
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  /** Counts `n` more bytes. */
  add(n: number): void {
    this.done += n;
  }

  /** Milliseconds since the start. */
  elapsedMs(): number {
    return Date.now() - this.started;
  }

  private draw(): void {
    this.sink?.write(`\r\x1b[K${progressLine(this.done, typeof this.total === 'number' ? this.total : this.total(), this.elapsedMs())}`);
  }

  /** Stops redrawing and clears the line. */
  end(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.sink?.write('\r\x1b[K');
    }
  }
}

/**
 * Part (c), scaling (issue 17): how each cost grows with the amount of work. Each row is a
 * ratio to the smallest size; the target is a flat line (<= 1.25 x) for memory and per-segment
 * cost; -B's time is shown (it grows with the data, as it must) but has no target.
 */
import type { ScalingRow } from './options.js';
import { mb } from './report.js';
import { runBaseScaling, type BaseScalePoint } from './scale-basebackup.js';
import { runWalScaling, type DepthPoint, type ReadyPoint } from './scale-wal.js';

export const QUEUE_DEPTHS = [0, 1000, 5000];
export const READY_COUNTS = [100, 1000, 5000];
export const BASE_FILES = [1000, 20_000, 100_000];
const FLAT = 1.25;

export interface ScalingPartResult {
  depth: DepthPoint[];
  ready: ReadyPoint[];
  base: BaseScalePoint[];
}

/** Runs part (c), the row sets in `rows` (all by default). */
export async function runScalingPart(log: (s: string) => void, rows: readonly ScalingRow[] = ['depth', 'queue', 'base']): Promise<ScalingPartResult> {
  let depth: DepthPoint[] = [];
  let ready: ReadyPoint[] = [];
  if (rows.includes('depth') || rows.includes('queue')) {
    log('  scaling: cmd_archiver -F per segment by queue depth, cmd_queue RSS by .ready files');
    ({ depth, ready } = await runWalScaling(rows.includes('depth') ? QUEUE_DEPTHS : [], rows.includes('queue') ? READY_COUNTS : [], log));
  }
  let base: BaseScalePoint[] = [];
  if (rows.includes('base')) {
    log('  scaling: cmd_standby -B by number of files');
    base = await runBaseScaling(BASE_FILES, log);
  }
  return { depth, ready, base };
}

interface Row {
  what: string;
  values: (number | undefined)[];
  fmt: (v: number) => string;
  flat: boolean;
  problems: string[];
}

function rowLines(header: string, sizes: string[], rows: Row[]): string[] {
  const w = Math.max(...rows.map((r) => r.what.length), header.length) + 2;
  const cw = 20;
  const pad = (s: string, n: number): string => (s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length));
  const out = [pad(header, w) + sizes.map((s) => pad(s, cw)).join('') + 'verdict (largest / smallest)'];
  for (const r of rows) {
    const base = r.values[0];
    const cells = r.values.map((v) => (v === undefined ? '-' : `${r.fmt(v)}${base ? ` (${(v / base).toFixed(2)}x)` : ''}`));
    const last = r.values.at(-1);
    const ratio = base && last !== undefined ? last / base : undefined;
    const verdict = !r.flat
      ? 'reported (no target)'
      : r.problems.length || ratio === undefined
        ? `n/a${r.problems.length ? `: ${r.problems[0]}` : ''}`
        : `${ratio <= FLAT ? 'PASS' : 'MISS'} ${ratio.toFixed(2)}x (target <= ${FLAT}x)`;
    out.push(pad(r.what, w) + cells.map((c) => pad(c, cw)).join('') + verdict);
  }
  return out;
}

/** The text of part (c). */
export function scalingReport(s: ScalingPartResult): string {
  const ms = (v: number): string => `${v.toFixed(0)} ms`;
  const probs = (xs: { problems: string[] }[]): string[] => xs.flatMap((x) => x.problems);
  const sets: string[][] = [];
  if (s.depth.length) {
    sets.push(
      rowLines(
        'cmd_archiver -F, 1 MiB segments, 1 slave refusing',
        s.depth.map((d) => `depth ${d.depth}`),
        [
          { what: 'per-segment wall (median)', values: s.depth.map((d) => d.wallMs), fmt: ms, flat: true, problems: probs(s.depth) },
          { what: 'per-segment CPU (median)', values: s.depth.map((d) => d.cpuMs), fmt: ms, flat: true, problems: probs(s.depth) },
        ],
      ),
    );
  }
  if (s.ready.length) {
    sets.push(
      rowLines(
        'cmd_queue, look-ahead over .ready files',
        s.ready.map((r) => `${r.ready} .ready`),
        [{ what: 'peak RSS', values: s.ready.map((r) => r.rssKiB), fmt: (v) => mb(v), flat: true, problems: probs(s.ready) }],
      ),
    );
  }
  if (s.base.length) {
    sets.push([
      ...rowLines(
        'cmd_standby -B, master of small tables',
        s.base.map((b) => `${b.files} files`),
        [
          { what: 'peak RSS', values: s.base.map((b) => b.rssKiB), fmt: (v) => mb(v), flat: true, problems: probs(s.base) },
          { what: 'time', values: s.base.map((b) => b.seconds), fmt: (v) => `${v.toFixed(1)} s`, flat: false, problems: probs(s.base) },
        ],
      ),
      `(-B peak RSS target also: <= 100 MB at every size: ${s.base.map((b) => mb(b.rssKiB)).join(', ')})`,
    ]);
  }
  return ['== Part (c): scaling (each cell: value (ratio to the smallest size))', ...sets.flatMap((x, i) => (i ? ['', ...x] : x))].join('\n');
}

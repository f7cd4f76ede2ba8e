/**
 * The tables people read: each method's median time, its ratio to the part's reference, the
 * individual runs and peak RSS; then the issue's targets with PASS/MISS (reported, not asserted).
 */
import type { MethodResult, TargetCheck } from './results.js';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** "12.3 MB" from kB. */
export function mb(kib: number | undefined): string {
  return kib === undefined ? '-' : `${(kib / 1024).toFixed(1)} MB`;
}

/** "1.23 GB" / "456 MB" from bytes. */
export function size(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** The method table; `ref` is the id of the method the ratio column divides by. */
export function methodTable(methods: MethodResult[], ref: string, refName: string): string {
  const refMedian = methods.find((m) => m.id === ref)?.median;
  const w = Math.max(...methods.map((m) => m.label.length), 10) + 3;
  const rw = Math.max(8, refName.length + 4);
  const runsOf = (m: MethodResult): string => m.runs.map((r) => (r.problems.length ? 'FAIL' : r.seconds!.toFixed(2))).join(' ');
  const uw = Math.max(10, ...methods.map((m) => runsOf(m).length)) + 2;
  const lines = [`${pad('method', w)}${lpad('median', 9)}${lpad(`x ${refName}`, rw)}   ${pad('runs (s)', uw)}${pad('peak RSS', 11)}checked`];
  for (const m of methods) {
    const label = pad(m.label + (m.id === ref ? ' *' : ''), w);
    if (m.unavailable) {
      lines.push(`${label}not available: ${m.unavailable}`);
      continue;
    }
    const runs = runsOf(m);
    if (m.median === undefined) {
      const why = [...new Set(m.runs.flatMap((r) => r.problems))].join('; ') || 'no run';
      lines.push(`${label}${lpad('FAILED', 9)}${lpad('-', rw)}   ${pad(runs, uw)}${pad(mb(m.rssKiB), 11)}\n${' '.repeat(w)}${why}`);
      continue;
    }
    const ratio = refMedian ? (m.median / refMedian).toFixed(2) : '-';
    const checked = m.runs.at(-1)?.checked ?? '';
    lines.push(`${label}${lpad(`${m.median.toFixed(2)} s`, 9)}${lpad(ratio, rw)}   ${pad(runs, uw)}${pad(mb(m.rssKiB), 11)}${checked}`);
  }
  for (const m of methods) for (const n of new Set(m.runs.flatMap((r) => r.notes ?? []))) lines.push(`note: ${m.label}: ${n}`);
  lines.push(`(* reference; ratio = method median / reference median; FAIL = lost/damaged data or an error, never a time)`);
  return lines.join('\n');
}

/** The targets table. */
export function targetTable(targets: TargetCheck[]): string {
  const w = Math.max(...targets.map((t) => t.what.length), 10) + 2;
  const lines = [`${pad('target (ratios of this run)', w)}${lpad('measured', 10)}${lpad('target', 10)}   verdict`];
  for (const t of targets) {
    const unit = t.unit ? ` ${t.unit}` : '';
    const measured = t.ratio === undefined ? '-' : `${t.ratio.toFixed(t.unit ? 1 : 2)}${unit}`;
    lines.push(`${pad(t.what, w)}${lpad(measured, 10)}${lpad(`<= ${t.target}${unit}`, 10)}   ${t.verdict}${t.note ? ` (${t.note})` : ''}`);
  }
  return lines.join('\n');
}

/**
 * The shape of the results: per method its runs, the median of the good ones, peak RSS; the
 * JSON file holds exactly this.
 */
export interface RunOutcome {
  seconds?: number;
  /** Empty when the run counts. */
  problems: string[];
  /** Peak RSS in kB, when measured in this run. */
  rssKiB?: number;
  /** Peak RSS in kB of a detached helper of the method (cmd_queue), when it reported one. */
  helperRssKiB?: number;
  /** Remarks that do not void the run (e.g. a helper process that had to be killed afterwards). */
  notes?: string[];
  /** What the check of the result found, when it passed (e.g. "25 segments, sha256 equal"). */
  checked?: string;
}

export interface MethodResult {
  id: string;
  label: string;
  /** Why the method did not run at all. */
  unavailable?: string;
  runs: RunOutcome[];
  /** Median seconds over the runs; only set when every run counted. */
  median?: number;
  /** Peak RSS in kB (max over its measured runs). */
  rssKiB?: number;
  /** Peak RSS in kB of its detached helper (max over all its runs, timed ones included). */
  helperRssKiB?: number;
}

/** Asks each method whether it can run here; returns the result records and the methods that can. */
export async function probeMethods<M extends { id: string; label: string; unavailable(): Promise<string | undefined> }>(
  methods: readonly M[],
  log: (s: string) => void,
): Promise<{ results: Map<string, MethodResult>; live: M[] }> {
  const results = new Map<string, MethodResult>();
  for (const m of methods) {
    const why = await m.unavailable();
    results.set(m.id, { id: m.id, label: m.label, runs: [], ...(why ? { unavailable: why } : {}) });
    if (why) log(`  ${m.label}: not available: ${why}`);
  }
  return { results, live: methods.filter((m) => !results.get(m.id)!.unavailable) };
}

/** The median of the numbers (mean of the middle two for an even count). */
export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

/** Fills in `median` (only when no run failed) and the RSS maximum. */
export function summarize(m: MethodResult): MethodResult {
  const good = m.runs.filter((r) => r.problems.length === 0 && r.seconds !== undefined);
  const med = good.length === m.runs.length ? median(good.map((r) => r.seconds!)) : undefined;
  const rss = m.runs.map((r) => r.rssKiB).filter((x): x is number => x !== undefined);
  const helper = m.runs.map((r) => r.helperRssKiB).filter((x): x is number => x !== undefined);
  if (m.helperRssKiB !== undefined) helper.push(m.helperRssKiB);
  return {
    ...m,
    ...(med !== undefined ? { median: med } : {}),
    ...(rss.length ? { rssKiB: Math.max(...rss, m.rssKiB ?? 0) } : {}),
    ...(helper.length ? { helperRssKiB: Math.max(...helper) } : {}),
  };
}

/** A ratio with its target, PASS/MISS when both sides were measured. */
export interface TargetCheck {
  what: string;
  ratio?: number;
  target: number;
  /** Unit of ratio and target when they are not plain ratios (e.g. MB). */
  unit?: string;
  verdict: 'PASS' | 'MISS' | 'n/a';
  /** Why there is no ratio. */
  note?: string;
}

/** Compares a/b with a target "at most `target`". */
export function checkRatio(what: string, a: MethodResult | undefined, b: MethodResult | undefined, target: number): TargetCheck {
  for (const m of [a, b]) {
    if (!m) return { what, target, verdict: 'n/a', note: 'not run' };
    if (m.median === undefined) return { what, target, verdict: 'n/a', note: `${m.label}: ${m.unavailable ? 'not available' : 'failed'}` };
  }
  const ratio = a!.median! / b!.median!;
  return { what, ratio, target, verdict: ratio <= target ? 'PASS' : 'MISS' };
}

/** An absolute figure against an upper bound (e.g. peak RSS in MB). */
export function checkValue(what: string, value: number | undefined, target: number, unit: string, note = 'not measured'): TargetCheck {
  if (value === undefined) return { what, target, unit, verdict: 'n/a', note };
  return { what, ratio: value, target, unit, verdict: value <= target ? 'PASS' : 'MISS' };
}

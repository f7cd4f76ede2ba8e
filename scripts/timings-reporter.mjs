// A node:test reporter that writes, per test file, the summed duration of its top-level tests and
// suites (milliseconds), one "ms<TAB>file" line each. run-tests.mjs prints the slowest files after
// each set, so the run's time budget (README: about 30 minutes on 2 cores) is kept in view.
// A file's top-level hooks outside any suite are not counted; files run in parallel overlap.
export default async function* timings(source) {
  const perFile = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, nesting, details } = event.data;
    if (!file || nesting !== 0) continue;
    perFile.set(file, (perFile.get(file) ?? 0) + (details?.duration_ms ?? 0));
  }
  for (const [file, ms] of perFile) yield `${Math.round(ms)}\t${file}\n`;
}

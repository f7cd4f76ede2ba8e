/**
 * The copy on the main thread keeps V8's young generation at its start size by setting
 * --semi-space-growth-factor=1 after start-up (copy.ts, pinYoungGeneration): a V8 internal that
 * only works while V8 reads that flag each time it would grow the young generation. This test
 * fails when a Node.js/V8 upgrade stops doing so (then -B on 2 cores would use ~30 MB more).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

const copyModule = new URL('../src/basebackup/copy.ts', import.meta.url).href;

// In a child: the flag is process-wide and must not touch this test process.
// Returns how many times the young generation grew while objects survived (its size at the end over its size at the start).
const churn = (pin: boolean): number => {
  const code = `
    import v8 from 'node:v8';
    const { pinYoungGeneration } = await import(${JSON.stringify(copyModule)});
    ${pin ? 'pinYoungGeneration();' : ''}
    const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const start = size();
    const keep = [];
    let max = 0;
    for (let i = 0; i < 1e6; i++) {
      keep.push({ a: i, b: 'x' + i });
      if (keep.length > 20000) keep.splice(0, 10000);
      if (i % 1000 === 0) max = Math.max(max, size());
    }
    console.log(max / start);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, PITR_GC_PACING: '' },
  });
  return Number(out.trim());
};

test('after pinYoungGeneration() V8 keeps the young generation at its start size while objects survive', () => {
  const free = churn(false);
  const pinned = churn(true);
  assert.ok(free >= 2, `without the pin V8 grows it (x ${free.toFixed(1)}): else this test proves nothing`);
  assert.ok(pinned <= 1, `pinned, the young generation still grew x ${pinned.toFixed(1)} (V8 no longer reads --semi-space-growth-factor at run time?)`);
});

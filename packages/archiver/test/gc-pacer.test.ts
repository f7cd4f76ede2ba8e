/**
 * The GC pacer runs minor collections while uploads run, also in a process started without
 * --expose-gc (cmd_queue by hand or from systemd), and stops when the last holder lets go.
 */
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { paceGc } from '../src/gc-pacer.js';

async function minorGcsDuring(ms: number): Promise<number> {
  let n = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) n++;
  });
  obs.observe({ entryTypes: ['gc'] });
  await new Promise((r) => setTimeout(r, ms));
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return n;
}

describe('paceGc', () => {
  it('collects every few milliseconds while held, even without --expose-gc', async () => {
    assert.equal(process.execArgv.includes('--expose-gc'), false, 'this test is meant to run without --expose-gc');
    const release = paceGc();
    const held = await minorGcsDuring(200);
    release();
    assert.ok(held >= 10, `only ${held} minor GCs in 200 ms while held`);
    const after = await minorGcsDuring(200);
    assert.ok(after <= 2, `${after} minor GCs in 200 ms after release`);
  });
});

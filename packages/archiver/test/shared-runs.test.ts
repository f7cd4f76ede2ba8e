/** SharedRuns: the same key never runs twice at once; a failed run does not stand for the next. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedRuns } from '../src/daemon/shared-runs.js';

function gate<T>() {
  let open!: (v: T) => void;
  let fail!: (e: unknown) => void;
  const p = new Promise<T>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { p, open, fail };
}

describe('SharedRuns', () => {
  it('a second call for a key in flight waits and shares the result (mapped); no second run', async () => {
    const runs = new SharedRuns<string>();
    const g = gate<string>();
    let started = 0;
    const first = runs.run('A', () => {
      started++;
      return g.p;
    });
    const second = runs.run(
      'A',
      () => {
        started++;
        return Promise.resolve('second ran');
      },
      (r) => `shared ${r}`,
    );
    g.open('created');
    assert.equal(await first, 'created');
    assert.equal(await second, 'shared created');
    assert.equal(started, 1, 'the same bytes went once');
  });

  it('another key runs at once; after a failure the waiting caller runs anew', async () => {
    const runs = new SharedRuns<string>();
    const g = gate<string>();
    const first = runs.run('A', () => g.p);
    assert.equal(await runs.run('B', async () => 'b'), 'b');
    const second = runs.run('A', async () => 'retried');
    g.fail(new Error('cut'));
    await assert.rejects(first, /cut/);
    assert.equal(await second, 'retried');
    assert.equal(await runs.run('A', async () => 'later'), 'later', 'nothing left behind');
  });
});

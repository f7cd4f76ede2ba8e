import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyProblem } from '../src/recovery/wal-file-check.js';
import { parseHistory as parse, rejoinVerdict as forkVerdict } from '../src/recovery/timeline-history.js';

/** As --rejoin reads a history file: the restore helper's check, then the lines. */
function parseHistory(name: string, text: string): ReturnType<typeof parse> {
  const problem = historyProblem(name, text);
  if (problem !== undefined) throw new Error(`${name}: ${problem}`);
  return parse(text);
}

const HIST3 = '1\t0/3000158\tno recovery target specified\n\n2\t0/5000000\tno recovery target specified\n';

test('parseHistory reads every parent timeline with its switchpoint', () => {
  assert.deepEqual(parseHistory('00000003.history', HIST3), [
    { tli: 1, switchpoint: '0/3000158' },
    { tli: 2, switchpoint: '0/5000000' },
  ]);
  assert.throws(() => parseHistory('00000002.history', '1\t0/3000158'), /cut short/);
});

test('a clean stop whose last checkpoint starts before the fork needs no rewind', () => {
  const h = parseHistory('00000003.history', HIST3);
  assert.equal(forkVerdict(2, 0x4fffff0n, true, 3, h).kind, 'no-rewind');
  assert.equal(forkVerdict(1, 0x30000d8n, true, 3, h).kind, 'no-rewind');
});

test('a checkpoint at or after the fork, or a crash, needs a rewind', () => {
  const h = parseHistory('00000003.history', HIST3);
  assert.equal(forkVerdict(1, 0x3000158n, true, 3, h).kind, 'diverged');
  assert.equal(forkVerdict(2, 0x6000000n, true, 3, h).kind, 'diverged');
  const crashed = forkVerdict(2, 0x1000000n, false, 3, h);
  assert.equal(crashed.kind, 'diverged');
  assert.match(crashed.kind === 'diverged' ? crashed.why : '', /not shut down cleanly/);
});

test('a timeline the new master never had is unrelated; the same timeline needs a clean stop', () => {
  assert.equal(forkVerdict(4, 0x1000000n, true, 3, parseHistory('00000003.history', HIST3)).kind, 'unrelated');
  assert.equal(forkVerdict(1, 0x1000000n, true, 1, []).kind, 'no-rewind');
  assert.equal(forkVerdict(1, 0x1000000n, false, 1, []).kind, 'diverged');
});

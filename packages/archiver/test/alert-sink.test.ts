/** Hooks raised in the background still run one after the other, in the order they were raised. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { memoryLogger } from '@pitrtools/core/log';
import { hookAlerts } from '../src/adapters/alert-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-alert-sink-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('a slow first hook does not let the second overtake it; settled() waits for all', async () => {
  const out = join(dir, 'order');
  // sh is the hook program here (argv, no shell line): the event name comes in PITR_EVENT.
  const hook = `/bin/sh -c 'if [ "$PITR_EVENT" = first ]; then sleep 0.3; fi; echo "$PITR_EVENT" >> ${out}'`;
  const sink = hookAlerts({ notify_critical: hook, notify_warning: hook }, memoryLogger());
  sink.alert({ level: 'CRITICAL', event: 'first', message: 'm1' });
  sink.alert({ level: 'WARNING', event: 'second', message: 'm2' });
  await sink.settled();
  assert.equal(readFileSync(out, 'utf8'), 'first\nsecond\n');
});

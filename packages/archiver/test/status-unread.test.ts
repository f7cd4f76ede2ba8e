/**
 * --status when --check cannot read the queues as a whole (l_archivedir not there before -I, or
 * not ours): it has no row per slave then, and --status must carry that state, not crash on it.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfig } from '@pitrtools/core/config/validate';
import { memoryLogger } from '@pitrtools/core/log';
import { statusCommand } from '../src/commands/status.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-status-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const q = join(dir, 'q');
// Slaves on a port where nothing listens: SSH fails at once (connection refused).
const config = () =>
  parseConfig(
    `pgdata: ${join(dir, 'pg')}\nl_archivedir: ${q}\nr_archivedir: /a\nslaves: 127.0.0.1:1, 127.0.0.2:1\nssh_timeout: 5\n`,
    join(dir, 'a.ini'),
    'archiver',
    { home: dir, username: 'pg' },
  ).config;

for (const [what, make, words] of [
  ['an l_archivedir that is not there yet (before -I)', () => undefined, /l_archivedir .* does not exist \(cmd_archiver -C .* -I creates it\)/],
  [
    'an l_archivedir that others may write to',
    () => {
      mkdirSync(q, { recursive: true });
      chmodSync(q, 0o777);
    },
    /l_archivedir|writable|group or others/,
  ],
] as const) {
  test(`${what}: every slave carries --check's state, its reason is said once`, async () => {
    rmSync(q, { recursive: true, force: true });
    make();
    const r = await statusCommand({ config: config(), log: memoryLogger(false) });
    assert.equal(r.slaves.length, 2);
    for (const s of r.slaves) {
      assert.notEqual(s.queue.state, 'OK', `${s.name}: an unread queue is not OK`);
      assert.equal(s.queue.name, s.name);
      assert.equal(s.reachable, false);
    }
    assert.notEqual(r.state, 'OK');
    assert.match(r.summary, words);
    const first = r.summary.split('; ')[0]!;
    assert.equal(r.summary.split(first).length - 1, 1, `said once: ${r.summary}`);
  });
}

/**
 * Program output the docs show, checked against the code that prints it: an example that drifts
 * (docs/after-failover.md once showed "(master PostgreSQL ...)" where --follow prints "(PostgreSQL ...)")
 * misleads whoever greps their log for it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { followLines } from '../src/cli/results.js';
import { describeMaster } from '../src/master-link.js';

const afterFailover = readFileSync(new URL('../../../docs/after-failover.md', import.meta.url), 'utf8');

test("after-failover.md: --follow's line and --check --json's master, as the code words them", () => {
  // The example's master: S1 at 127.0.0.1:5432 as seen from itself, reached over SSH as postgres@s1.example.net:22.
  const master = describeMaster('127.0.0.1', 5432, 'postgres@s1.example.net:22');
  const shown = [...afterFailover.matchAll(/^# (Following the new master .*)$/gm)].map((m) => m[1]);
  assert.deepEqual(shown, followLines({ master, timeline: 2, via: 'streaming' }));
  assert.ok(afterFailover.includes(`"master": "${master}"`), `--check --json's master is not shown as "${master}"`);
});

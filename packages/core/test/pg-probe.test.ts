/**
 * client.ts loads pg without pg's Cloudflare probe constructing a fetch Response (which loads
 * undici, several MB of RSS): skip-cloudflare-probe.ts puts a navigator in place for pg's load.
 * This fails when pg (or Node.js) changes that probe so the trick no longer avoids it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

const client = new URL('../src/pg/client.ts', import.meta.url).href;

// In a child: counts reads of globalThis.Response (Node.js makes it a lazy getter that loads undici).
function responseReads(what: string, env: Record<string, string> = {}): { reads: number; navigator: string } {
  const code = `
    const d = Object.getOwnPropertyDescriptor(globalThis, 'Response');
    let reads = 0;
    Object.defineProperty(globalThis, 'Response', { configurable: true, get() { reads++; return d.get ? d.get.call(globalThis) : d.value; } });
    await import(${JSON.stringify(what)});
    console.log(JSON.stringify({ reads, navigator: typeof navigator }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
  return JSON.parse(out.trim()) as { reads: number; navigator: string };
}

test('loading the pg client does not make pg construct a fetch Response, and leaves no navigator behind', () => {
  const plain = responseReads('pg');
  if (plain.navigator === 'object') return assert.ok(true, 'Node.js has its own navigator: pg never reaches the Response probe');
  assert.ok(plain.reads > 0, 'pg alone probes Response (else this test proves nothing)');
  assert.equal(responseReads(client, { PITR_PG_PROBE_SHIM: 'off' }).reads > 0, true, 'the off switch works');
  const ours = responseReads(client);
  assert.equal(ours.reads, 0, 'pg probed Response through our client: the navigator shim no longer works');
  assert.equal(ours.navigator, 'undefined', 'the navigator put in place for pg is removed again');
});

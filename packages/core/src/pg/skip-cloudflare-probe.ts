/**
 * Imported by client.ts before pg: pg (lib/stream.js) decides at load time whether it runs in a
 * Cloudflare Worker, and when `navigator` is not defined (Node.js 20) it asks by constructing a
 * fetch `Response`, which loads undici: 9.6 MB of RSS in every process that loads pg (measured
 * with `require('pg/lib/stream')`), for a question whose answer is no. A `navigator` with a
 * userAgent that is not Cloudflare's answers it first; client.ts removes it again once pg is
 * loaded (Node.js 21+ has its own navigator, which is left alone). A trick on pg's internals:
 * guarded by packages/core/test/pg-probe.test.ts; off with PITR_PG_PROBE_SHIM=off.
 */
const g = globalThis as { navigator?: unknown };

/** Whether a navigator was put in place for pg's load (client.ts removes it afterwards). */
export const probeShim = g.navigator === undefined && process.env.PITR_PG_PROBE_SHIM !== 'off';
if (probeShim) g.navigator = { userAgent: 'Node.js' };

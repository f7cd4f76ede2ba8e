#!/usr/bin/env node
// Writes etc/cmd_archiver.ini.sample and etc/cmd_standby.ini.sample from the key schema.
// Run `npx tsc -b` first (it imports the compiled module). With --check it only compares and
// exits 1 when a committed sample is out of date.
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { renderSample } = await import(new URL('packages/core/dist/config/render-sample.js', root).href);
const check = process.argv.includes('--check');
let stale = 0;
for (const role of ['archiver', 'standby']) {
  const file = new URL(`etc/cmd_${role}.ini.sample`, root);
  const text = renderSample(role);
  let old = '';
  try { old = readFileSync(file, 'utf8'); } catch { /* not written yet */ }
  if (old === text) continue;
  if (check) {
    console.error(`gen-samples: ${file.pathname} is out of date; run node scripts/gen-samples.mjs`);
    stale++;
  } else {
    writeFileSync(file, text);
    console.log(`gen-samples: wrote ${file.pathname}`);
  }
}
process.exit(stale ? 1 : 0);

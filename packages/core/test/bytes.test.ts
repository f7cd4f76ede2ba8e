import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { humanBytes } from '../src/bytes.js';

test('humanBytes: binary units named KiB, MiB, GiB, one decimal; bytes whole', () => {
  assert.equal(humanBytes(0), '0 B');
  assert.equal(humanBytes(512), '512 B');
  assert.equal(humanBytes(1023), '1023 B');
  assert.equal(humanBytes(1024), '1.0 KiB');
  assert.equal(humanBytes(1536), '1.5 KiB');
  assert.equal(humanBytes(16 * 1024 ** 2), '16.0 MiB');
  // The figure a user saw as "172.1 MB" from --backup and "172.1 MiB" from --list-backups.
  assert.equal(humanBytes(180_482_840), '172.1 MiB');
  assert.equal(humanBytes(3 * 1024 ** 3), '3.0 GiB');
  assert.equal(humanBytes(2 * 1024 ** 4), '2.0 TiB');
  // Rounding never shows 1024.0 of a unit: it moves up one.
  assert.equal(humanBytes(1024 ** 2 - 1), '1.0 MiB');
  assert.equal(humanBytes(1023.6), '1.0 KiB');
  assert.equal(humanBytes(255.4), '255 B');
  assert.equal(humanBytes(-1536), '-1.5 KiB');
  assert.equal(humanBytes(null), 'unlimited');
});

test('no source file but core/src/bytes.ts labels a byte count: every figure shown to people goes through humanBytes', () => {
  const packages = new URL('../../', import.meta.url).pathname;
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
    }
  };
  for (const p of readdirSync(packages)) {
    try {
      walk(join(packages, p, 'src'));
    } catch {
      // a package without src/
    }
  }
  assert.ok(
    files.some((f) => f.endsWith('/standby/src/cli/results.ts')),
    `scanned ${files.length} files`,
  );
  // A unit label as a lone string literal ('MB', "KiB") or right after a computed figure (`${x} MB`,
  // `.toFixed(1)} MiB`, `n / 1024) MB`). Comments are left out; ini syntax ("16MB" in an example of
  // what to write, 'mb' as a key of the parser's table) is neither.
  const label = /['"`](?:[kKMGTP]i?B)['"`]|(?:\}|\))\s?[kKMGTP]i?B\b/;
  const found: string[] = [];
  for (const f of files) {
    if (f.endsWith('/core/src/bytes.ts')) continue;
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/^\s*(\/\/|\*|\/\*\*?).*$/, '').replace(/\s\/\/ .*$/, '');
        if (label.test(code)) found.push(`${relative(packages, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, [], 'byte counts formatted outside humanBytes');
});

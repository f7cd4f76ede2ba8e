import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rsyncCompression } from '../src/config/rsync-flags.js';

// Each row as rsync 3.5.0 answered it (rsync FLAGS --debug=nstr2 over a local remote shell: the
// "compress:" line it negotiated), except --compress-level=0 alone, where rsync(1)'s rule for zlib
// (level 0 is off; the only algorithm of the rsync pitrtools 1.3 ran) is taken over zstd's default.
const CASES: [string, 'zstd' | 'lz4' | undefined][] = [
  ['-z', 'zstd'],
  ['-avz', 'zstd'],
  ['-ze ssh', 'zstd'],
  ['-e ssh -z', 'zstd'],
  ['--compress', 'zstd'],
  ['-z --no-compress', undefined],
  ['-z --no-z', undefined],
  ['--no-compress -z', 'zstd'],
  ['--compress-level=9', 'zstd'],
  ['--zl=9', 'zstd'],
  ['--compress-level 7', 'zstd'],
  ['--no-z --zl=5', 'zstd'],
  ['--zl=5 --no-z', 'zstd'],
  ['-z --zl=3 --no-z', 'zstd'],
  ['--compress-level=0', undefined],
  ['--zc=zlib -z --zl=0', undefined],
  ['--zc=zstd', 'zstd'],
  ['--compress-choice=lz4', 'lz4'],
  ['--zc lz4', 'lz4'],
  ['--zc=lz4 --zl=0', 'lz4'],
  ['--zc=zstd --zl=0', 'zstd'],
  ['--zc=none', undefined],
  ['-z --zc=none', undefined],
  ['--zc=none -z', undefined],
  ['--zl=5 --zc=none', undefined],
  ['--no-z --zc=zstd', 'zstd'],
  ['--zc=zstd --no-z', undefined],
  ['--zc=auto', undefined],
  ['-z --zc=auto', 'zstd'],
  ['--old-compress', 'zstd'],
  ['--new-compress', 'zstd'],
  ['-a', undefined],
  ['-a --partial', undefined],
  ['-e zssh', undefined],
  ['--rsh -z', undefined],
  ['--skip-compress=gz', undefined],
  ['-- -z', undefined],
  ['', undefined],
];

test('rsync_flags asks for compression exactly when rsync would compress', () => {
  for (const [flags, want] of CASES) assert.equal(rsyncCompression(flags), want, `rsync_flags: ${flags}`);
});

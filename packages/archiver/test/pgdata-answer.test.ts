/**
 * A pgdata that is no data directory we can use gets one answer from every cmd_archiver action
 * that looks at it (-F, -I, --setup, --stop --remove, --install-helpers): NO_PG_WAL, exit 2, the
 * same words; permission denied says whom to run as instead of "check the pgdata key".
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfig } from '@pitrtools/core/config/validate';
import type { PitrError } from '@pitrtools/core/errors';
import { resolveSegment } from '../src/archive/segment-input.js';
import { initCommand } from '../src/commands/init.js';
import { installHelpersCommand } from '../src/commands/install-helpers.js';
import { setupArchiving, stopArchiving } from '../src/commands/setup-archiving.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-pgdata-'));
after(() => {
  chmodSync(join(dir, 'locked'), 0o700);
  rmSync(dir, { recursive: true, force: true });
});
const config = (pgdata: string) => {
  const ini = join(dir, `${pgdata.replace(/\W/g, '_')}.ini`);
  const text = `pgdata: ${pgdata}\nl_archivedir: ${join(dir, 'q')}\nr_archivedir: /a\nslaves: s1\n`;
  writeFileSync(ini, text, { mode: 0o600 });
  return parseConfig(text, ini, 'archiver', { home: dir, username: 'pg' }).config;
};
const actions: Array<[string, (pgdata: string) => Promise<unknown>]> = [
  // The ini too, so that "nothing done" is checked alike (-F writes none anyway).
  ['-F', (p) => (config(p), resolveSegment('pg_wal/000000010000000000000001', p, fsp))],
  ['-I', (p) => initCommand({ config: config(p), cmdArchiver: '/usr/bin/cmd_archiver' })],
  ['--setup', (p) => setupArchiving({ config: config(p), cmdArchiver: '/usr/bin/cmd_archiver' })],
  ['--stop --remove', (p) => stopArchiving({ config: config(p), remove: true })],
  ['--install-helpers', (p) => installHelpersCommand({ config: config(p) })],
];

// A directory that is not a data directory, and a real-looking one that we may not enter.
const notData = join(dir, 'not-a-datadir');
mkdirSync(notData);
const locked = join(dir, 'locked');
mkdirSync(join(locked, 'global'), { recursive: true });
mkdirSync(join(locked, 'pg_wal'));
writeFileSync(join(locked, 'PG_VERSION'), '15\n');
writeFileSync(join(locked, 'global', 'pg_control'), '');
chmodSync(locked, 0o000);

for (const [what, run] of actions) {
  test(`${what}: a pgdata that is no data directory, or not ours to enter: NO_PG_WAL, exit 2, the same words`, async () => {
    for (const [pgdata, words, hint] of [
      [join(dir, 'missing'), /^pgdata \S+missing is not a PostgreSQL data directory \(\S+: ENOENT\)$/, /check the 'pgdata' key/],
      [notData, /^pgdata \S+not-a-datadir is not a PostgreSQL data directory \(\S+: ENOENT\)$/, /check the 'pgdata' key/],
      [locked, /^pgdata \S+locked: \S+ cannot be reached by user \S+ \(permission denied, EACCES\)$/, /run it as the user PostgreSQL runs as/],
    ] as const) {
      await assert.rejects(run(pgdata), (e: PitrError) => {
        assert.equal(e.code, 'NO_PG_WAL', `${what} ${pgdata}: ${e.message}`);
        assert.equal(e.exitCode, 2);
        assert.match(e.message, words);
        assert.match(e.hint ?? '', hint);
        return true;
      });
      const ini = readFileSync(join(dir, `${pgdata.replace(/\W/g, '_')}.ini`), 'utf8');
      assert.doesNotMatch(ini, /^state:/m, `${what}: exit 2 and nothing done, the ini unchanged`);
    }
  });
}

/**
 * Key descriptions a newcomer read wrong (issue 16 part 8). They come from the schema, which also
 * generates the ini sample and docs/cmd_standby.md's key table (drift-checked by gen-*.mjs --check),
 * so each is checked once here against what the code does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { STANDBY_KEYS } from '@pitrtools/core/config/standby-schema';
import { renderStubConf } from '../src/recovery/render.js';

const doc = (name: string): string => {
  const k = STANDBY_KEYS.find((s) => s.name === name);
  assert.ok(k, name);
  return k.doc;
};

describe('the lag keys name what they compare', () => {
  it('bytes: the master\'s pg_current_wal_lsn() against pg_last_wal_replay_lsn(), reached at >= ("at least")', () => {
    for (const k of ['check_lag_warn_bytes', 'check_lag_critical_bytes']) {
      assert.match(doc(k), /master's pg_current_wal_lsn\(\).*at least.*pg_last_wal_replay_lsn\(\)/, k);
    }
    const src = readFileSync(new URL('../src/commands/check.ts', import.meta.url), 'utf8');
    assert.match(src, /pg_current_wal_lsn\(\)/);
    assert.match(src, /pg_last_wal_replay_lsn\(\)/);
  });
  it('seconds: now() minus pg_last_xact_replay_timestamp(), only while replay is behind', () => {
    for (const k of ['check_lag_warn_seconds', 'check_lag_critical_seconds']) {
      assert.match(doc(k), /now\(\) minus pg_last_xact_replay_timestamp\(\)/, k);
      assert.match(doc(k), /0 s while replay is caught up/, k);
    }
    const src = readFileSync(new URL('../src/commands/check.ts', import.meta.url), 'utf8');
    assert.match(src, /now\(\) - pg_last_xact_replay_timestamp\(\)/);
    assert.match(src, /f\.lagBytes === 0 \? 0 :/);
  });
});

describe('no_copy_conf says what -S writes', () => {
  it('a stub postgresql.conf with include of pg_conf and hba_file, no config_file', () => {
    const stub = renderStubConf('/etc/pg/postgresql.conf', '/etc/pg/pg_hba.conf', 'now');
    assert.match(stub, /^include '\/etc\/pg\/postgresql\.conf'$/m);
    assert.match(stub, /^hba_file = '\/etc\/pg\/pg_hba\.conf'$/m);
    assert.doesNotMatch(stub, /config_file/);
    assert.match(doc('no_copy_conf'), /stub whose `include` names pg_conf and whose hba_file names pg_hba_conf/);
    assert.doesNotMatch(doc('no_copy_conf'), /config_file/);
    // The sample carries the same words (wrapped): one source.
    const sample = readFileSync(new URL('../../../etc/cmd_standby.ini.sample', import.meta.url), 'utf8');
    const para =
      /((?:; .*\n)+);no_copy_conf:/
        .exec(sample)?.[1]
        ?.replace(/\n; |\n/g, ' ')
        .replace(/^; /, '') ?? '';
    assert.ok(para.startsWith(doc('no_copy_conf')), para);
  });
});

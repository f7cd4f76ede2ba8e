import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeKey, displayConfig, listSchema, secretValues } from '../src/config/describe.js';
import { loadConfig } from '../src/config/load.js';
import { defaultValue } from '../src/config/read-keys.js';
import { renderSample } from '../src/config/render-sample.js';
import type { Role } from '../src/config/schema.js';
import { parseConfig } from '../src/config/validate.js';

const env = { home: '/home/pg', username: 'postgres' };
const ROLES: Role[] = ['archiver', 'standby'];
const samplePath = (role: Role): string => fileURLToPath(new URL(`../../../etc/cmd_${role}.ini.sample`, import.meta.url));

describe('sample files', () => {
  for (const role of ROLES) {
    it(`etc/cmd_${role}.ini.sample is what renderSample('${role}') produces (run node scripts/gen-samples.mjs)`, () => {
      assert.equal(readFileSync(samplePath(role), 'utf8'), renderSample(role));
    });

    it(`etc/cmd_${role}.ini.sample loads without error or notice`, () => {
      const { config, notices } = loadConfig(samplePath(role), role, { env });
      assert.deepEqual(notices, []);
      assert.equal(config.pgdata, '/var/lib/postgresql/15/main');
    });

    it(`cmd_${role}.ini.sample lists every key, each under its doc, legacy keys last`, () => {
      const text = renderSample(role);
      const keys = listSchema(role);
      let last = -1;
      for (const spec of keys) {
        const at = text.search(new RegExp(`^;?${spec.name}:`, 'm'));
        assert.ok(at >= 0, `${spec.name} missing from the sample`);
        assert.ok(text.includes(spec.doc.split(' ').slice(0, 4).join(' ')), `doc of ${spec.name} missing`);
        if (spec.group !== 'Kept for compatibility') last = Math.max(last, at);
      }
      const compat = text.indexOf('; ==== Kept for compatibility ====');
      assert.ok(compat > last, 'the compatibility group comes after every other key');
      assert.ok(
        text.split('\n').every((l) => l.length <= 78),
        'lines fit in 78 columns',
      );
      assert.ok(text.includes('\n[DEFAULT]\n'));
    });

    it(`cmd_${role}.ini.sample still loads with every commented-out setting switched on`, () => {
      const text = renderSample(role).replace(/^;(\[|[a-z_]+:)/gm, '$1');
      const { config, notices } = parseConfig(text, 'uncommented', role, env);
      assert.ok(notices.length > 0, 'legacy keys now produce notices');
      if (role === 'archiver') assert.deepEqual(Object.keys((config as { sections: object }).sections), ['standby2:2222']);
    });
  }
});

describe('the schema', () => {
  for (const role of ROLES) {
    it(`${role}: names are unique snake_case, docs are sentences, defaults parse`, () => {
      const seen = new Set<string>();
      for (const spec of listSchema(role)) {
        assert.match(spec.name, /^[a-z][a-z0-9_]*$/);
        assert.ok(!seen.has(spec.name), `${spec.name} twice`);
        seen.add(spec.name);
        assert.match(spec.doc, /^\S.{10,}[.)]$/s, `doc of ${spec.name}`);
        assert.doesNotThrow(() => defaultValue(spec, env), spec.name);
        if (spec.required) assert.ok(spec.example !== undefined, `${spec.name} is required and needs an example`);
        if (spec.type === 'enum') assert.ok(spec.values?.includes(spec.default ?? ''), `${spec.name} default`);
        if (spec.legacy !== undefined) assert.equal(spec.group, 'Kept for compatibility', spec.name);
      }
    });

    it(`${role}: every key with an effect is a property of the loaded config`, () => {
      const { config } = loadConfig(samplePath(role), role, { env });
      for (const spec of listSchema(role)) {
        const has = Object.hasOwn(config, spec.name);
        assert.equal(has, spec.legacy?.kind !== 'ignored', spec.name);
      }
    });
  }

  it('the original keys of both files are all known', () => {
    const original = {
      archiver:
        'state pgdata r_archivedir l_archivedir includepath rsync_flags rsync_version slaves user ssh_timeout ' +
        'queue_user queue_wait max_queue_workers notify_ok notify_warning notify_critical debug ssh_debug ssh rsync_bin',
      standby:
        'pgversion use_streaming_replication trigger_file repl_db_user repl_db_password sslmode includepath ' +
        'rsync_flags rsync_threads port master_public_ip master_local_ip user debug ssh_debug ssh_timeout archivedir ' +
        'pgdata pg_conf pg_hba_conf pg_conf_failover pg_hba_conf_failover no_copy_conf recovery_conf logfile ' +
        'notify_ok notify_warning notify_critical action_failover numarchives ssh rsync pg_standby pg_ctl ' +
        'pg_archivecleanup r_psql',
    };
    for (const role of ROLES) {
      const names = new Set(listSchema(role).map((k) => k.name));
      for (const key of original[role].split(' ')) assert.ok(names.has(key), `${role}: ${key}`);
    }
  });
});

describe('describing keys', () => {
  it('describeKey gives type, default and doc; per-slave keys say so in the archiver only', () => {
    const a = describeKey('archiver', 'ssh_timeout');
    assert.ok(a !== undefined);
    assert.match(a, /^ssh_timeout: duration \(e\.g\. 10, 30s, 2min, 1h\); default: 10\n {2}How long to wait for a slave/);
    assert.match(a, /Can be set per slave\.$/);
    assert.doesNotMatch(describeKey('standby', 'ssh_timeout')!, /per slave/);
    assert.match(describeKey('standby', 'ssh_timeout')!, /default: 30/);
    assert.match(describeKey('archiver', 'PGDATA')!, /^pgdata: absolute path; required/);
    assert.match(describeKey('archiver', 'user')!, /default: the current OS user/);
    assert.equal(describeKey('standby', 'state'), undefined, 'state is an archiver key');
    assert.equal(describeKey('archiver', 'nonsense'), undefined);
  });

  it('describeKey explains legacy keys', () => {
    assert.match(describeKey('standby', 'recovery_conf')!, /No effect since PostgreSQL 12: recovery\.conf is gone/);
    assert.match(describeKey('archiver', 'rsync_bin')!, /No effect since the TypeScript rewrite/);
  });

  it('secrets are listed for redaction and masked in the debug dump', () => {
    const text = '[DEFAULT]\nmaster_public_ip: m\nuser: u\narchivedir: /a\npgdata: /d\nrepl_db_password: s3cret!\n';
    const { config } = parseConfig(text, 'f', 'standby', env);
    assert.deepEqual(secretValues('standby', config), ['s3cret!']);
    const dump = displayConfig('standby', config).join('\n');
    assert.ok(!dump.includes('s3cret!'));
    assert.match(dump, /^repl_db_password = \*{8} \(line 6\)$/m);
    assert.match(dump, /^port = 5432$/m);
    assert.match(dump, /^pg_ctl = \(not set\)$/m);
    const none = parseConfig(text.replace('repl_db_password: s3cret!\n', ''), 'f', 'standby', env).config;
    assert.deepEqual(secretValues('standby', none), []);
  });
});

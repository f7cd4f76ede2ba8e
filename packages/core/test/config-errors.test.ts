import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigCode } from '../src/config/codes.js';
import { parseConfig } from '../src/config/validate.js';
import { expectConfigError } from './fixtures/config/expect-config-error.js';

const env = { home: '/home/pg', username: 'walship' };
const F = '/etc/pitrtools/cmd_archiver.ini';
const ARCH = '[DEFAULT]\npgdata: /pg/data\nl_archivedir: /pg/queue\nr_archivedir: /pg/archive\nslaves: standby1\n';
const STBY = '[DEFAULT]\nmaster_public_ip: master\nuser: postgres\narchivedir: /pg/archive\npgdata: /pg/data\n';
const archiver = (extra: string, base = ARCH) => parseConfig(base + extra, F, 'archiver', env);
const standby = (extra: string, base = STBY) => parseConfig(base + extra, F, 'standby', env);

describe('error messages: one line naming file, line and key, with the fix', () => {
  it('missing required key: points at [DEFAULT] and shows an example', () => {
    const err = expectConfigError(() => archiver('', '[DEFAULT]\nl_archivedir: /q\nr_archivedir: /a\nslaves: s\n'), {
      code: ConfigCode.MISSING_KEY,
      file: F,
      line: 1,
      key: 'pgdata',
    });
    assert.equal(err.message, `${F}:1: key 'pgdata': required but not set (add e.g. \`pgdata: /var/lib/postgresql/15/main\` to [DEFAULT])`);
    expectConfigError(() => archiver('', 'l_archivedir: /q\nr_archivedir: /a\nslaves: s\n'), {
      code: ConfigCode.MISSING_KEY,
      line: undefined,
      key: 'pgdata',
    });
    expectConfigError(() => archiver('pgdata:\n'), {
      code: ConfigCode.MISSING_KEY,
      line: 6,
      key: 'pgdata',
      message: /required but empty/,
    });
    expectConfigError(() => standby('', '[DEFAULT]\nuser: u\narchivedir: /a\npgdata: /d\n'), {
      code: ConfigCode.MISSING_KEY,
      line: 1,
      key: 'master_public_ip',
      message: /master_public_ip: db-master/,
    });
  });

  it('wrong type', () => {
    const err = expectConfigError(() => archiver('ssh_timeout: ten\n'), {
      code: ConfigCode.BAD_VALUE,
      file: F,
      line: 6,
      key: 'ssh_timeout',
    });
    assert.equal(err.message, `${F}:6: key 'ssh_timeout': 'ten' is not a number of seconds (e.g. 10, 30s, 2min)`);
    expectConfigError(() => archiver('debug: maybe\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'debug',
      message: /use on\/off, yes\/no, true\/false or 1\/0/,
    });
    expectConfigError(() => archiver('max_queue_workers: four\n'), { code: ConfigCode.BAD_VALUE, line: 6, key: 'max_queue_workers' });
    expectConfigError(() => archiver('queue_max_bytes: huge\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'queue_max_bytes',
      message: /is not a size/,
    });
    expectConfigError(() => standby('port: 0\n'), { code: ConfigCode.BAD_VALUE, line: 6, key: 'port', message: /minimum of 1/ });
  });

  it('bad enum lists the allowed values', () => {
    expectConfigError(() => archiver('state: paused\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'state',
      message: /'paused' is not one of: online, offline$/,
    });
    expectConfigError(() => standby('sslmode: strict\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'sslmode',
      message: /not one of: disable, allow, prefer, require, verify-ca, verify-full/,
    });
  });

  it('unknown key, with did-you-mean only when close', () => {
    const err = expectConfigError(() => archiver('r_archivdir: /x\n'), {
      code: ConfigCode.UNKNOWN_KEY,
      file: F,
      line: 6,
      key: 'r_archivdir',
    });
    assert.equal(err.message, `${F}:6: key 'r_archivdir': not a cmd_archiver.ini key (did you mean 'r_archivedir'?)`);
    const far = expectConfigError(() => archiver('frobnicate: 1\n'), { code: ConfigCode.UNKNOWN_KEY, line: 6, key: 'frobnicate' });
    assert.equal(far.message, `${F}:6: key 'frobnicate': not a cmd_archiver.ini key`);
    expectConfigError(() => archiver('master_public_ip: m\n'), {
      code: ConfigCode.UNKNOWN_KEY,
      line: 6,
      key: 'master_public_ip',
      message: /it belongs in cmd_standby\.ini/,
    });
    expectConfigError(() => standby('slaves: s1\n'), {
      code: ConfigCode.UNKNOWN_KEY,
      line: 6,
      key: 'slaves',
      message: /it belongs in cmd_archiver\.ini/,
    });
    expectConfigError(() => standby('use_streaming_replicaton: on\n'), {
      code: ConfigCode.UNKNOWN_KEY,
      line: 6,
      message: /did you mean 'use_streaming_replication'\?/,
    });
  });

  it('relative paths', () => {
    expectConfigError(() => archiver('', '[DEFAULT]\npgdata: data/main\nl_archivedir: /q\nr_archivedir: /a\nslaves: s\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 2,
      key: 'pgdata',
      message: /'data\/main' is not an absolute path \(write it from \/, e\.g\. \/var\/lib\/postgresql\/15\/main\)/,
    });
    expectConfigError(() => standby('ssh_identity: /ok, id_rsa\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'ssh_identity',
      message: /'id_rsa' is not an absolute path/,
    });
  });

  it('empty or malformed slaves list', () => {
    const err = expectConfigError(() => archiver('', '[DEFAULT]\npgdata: /d\nl_archivedir: /q\nr_archivedir: /a\nslaves: , ,\n'), {
      code: ConfigCode.BAD_SLAVE,
      file: F,
      line: 5,
      key: 'slaves',
    });
    assert.match(err.message, /lists no slave \(e\.g\. `slaves: standby1, standby2:2222`\)/);
    expectConfigError(() => archiver('', ARCH.replace('slaves: standby1', 'slaves: a, b:99999')), {
      code: ConfigCode.BAD_SLAVE,
      line: 5,
      key: 'slaves',
      message: /'b:99999' is not a slave entry: port/,
    });
  });

  it('a notify command that cannot be split into words', () => {
    expectConfigError(() => archiver("notify_critical: /bin/alert 'CRITICAL\n"), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'notify_critical',
      message: /cannot be split into words: unterminated single quote/,
    });
  });

  it('a bad tablespace_mapping entry', () => {
    expectConfigError(() => standby('tablespace_mapping: /a=/b, /c\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'tablespace_mapping',
      message: /'\/c' is not OLDDIR=NEWDIR/,
    });
  });

  it('thresholds out of order', () => {
    expectConfigError(() => archiver('queue_warn_bytes: 8GB\nqueue_critical_bytes: 1GB\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'queue_warn_bytes',
      message: /queue_warn_bytes \(8\.0 GiB\) is above queue_critical_bytes \(1\.0 GiB\)/,
    });
    expectConfigError(() => archiver('queue_max_bytes: 1GB\nqueue_critical_bytes: 2GB\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 7,
      key: 'queue_critical_bytes',
      message: /above queue_max_bytes/,
    });
    expectConfigError(() => standby('check_lag_warn_seconds: 1h\n'), {
      code: ConfigCode.BAD_VALUE,
      line: 6,
      key: 'check_lag_warn_seconds',
      message: /\(3600s\) is above check_lag_critical_seconds \(1800s\)/,
    });
    assert.doesNotThrow(() => archiver('queue_warn_bytes: 8GB\n'), 'unlimited is never compared');
  });

  it('an interpolation error through the loader', () => {
    expectConfigError(() => archiver('notify_ok: /bin/alert %(pgdata)s 100%\n'), {
      code: ConfigCode.INTERPOLATION,
      line: 6,
      key: 'notify_ok',
      message: /write %% for a literal %/,
    });
    assert.doesNotThrow(() => archiver('notify_ok: /bin/alert 100%\n'), 'a value without %( is taken as written');
  });

  it('[default] in another case is named as not [DEFAULT], in both files, not as keys missing from [DEFAULT]', () => {
    for (const [parse, keys] of [
      [archiver, 'pgdata: /pg/data\nl_archivedir: /pg/queue\nr_archivedir: /pg/archive\nslaves: standby1\n'],
      [standby, 'master_public_ip: master\nuser: postgres\narchivedir: /pg/archive\npgdata: /pg/data\n'],
    ] as const) {
      for (const name of ['default', 'Default']) {
        expectConfigError(() => parse('', `# copied from a how-to\n[${name}]\n${keys}`), {
          code: ConfigCode.UNKNOWN_SECTION,
          file: F,
          line: 2,
          message: new RegExp(`section \\[${name}\\] is not \\[DEFAULT\\]: section names are case-sensitive .*; did you mean \\[DEFAULT\\]\\?`),
        });
      }
    }
  });

  it('cmd_standby.ini has no sections besides DEFAULT', () => {
    expectConfigError(() => standby('\n[master]\nport: 5433\n'), {
      code: ConfigCode.UNKNOWN_SECTION,
      file: F,
      line: 7,
      message: /section \[master\]: cmd_standby\.ini has no sections besides \[DEFAULT\]/,
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigCode } from '../src/config/codes.js';
import { resolveMaster, resolveSlaves } from '../src/config/ssh-targets.js';
import { parseConfig } from '../src/config/validate.js';
import { expectConfigError } from './fixtures/config/expect-config-error.js';

const env = { home: '/home/pg', username: 'postgres' };
const F = '/etc/pitrtools/cmd_archiver.ini';
const base = (slaves: string): string => `[DEFAULT]\npgdata: /pg/data\nl_archivedir: /pg/queue\nr_archivedir: /pg/archive\nslaves: ${slaves}\n`;
const load = (text: string) => parseConfig(text, F, 'archiver', env);
const everyFileExists = (): boolean => true;

describe('per-slave sections', () => {
  it('override the per-slave keys for their slave only; the rest come from DEFAULT', () => {
    const { config } = load(
      `${base('standby1, standby2:2222, [2001:db8::7]:22')}ssh_timeout: 5\n` +
        '[standby2:2222]\nuser: walreceiver\nr_archivedir: /srv/standby2/archive\nssh_host_key_check: accept-new\n' +
        'ssh_known_hosts: /etc/pitr/known_hosts\nssh_timeout: 1min\nslave_deadline: 90s\nremote_dir_fsync: off\n',
    );
    assert.deepEqual(Object.keys(config.sections), ['standby2:2222']);
    assert.equal(config.sections['standby2:2222']!.line, 7);
    assert.deepEqual(config.sections['standby2:2222']!.sources, {
      user: 8,
      r_archivedir: 9,
      ssh_host_key_check: 10,
      ssh_known_hosts: 11,
      ssh_timeout: 12,
      slave_deadline: 13,
      remote_dir_fsync: 14,
    });
    const targets = resolveSlaves(config, everyFileExists);
    const defaults = ['/home/pg/.ssh/id_ed25519', '/home/pg/.ssh/id_ecdsa', '/home/pg/.ssh/id_rsa'];
    assert.deepEqual(targets, [
      {
        entry: 'standby1',
        name: 'standby1',
        host: 'standby1',
        port: 22,
        user: 'postgres',
        r_archivedir: '/pg/archive',
        identityFiles: defaults,
        knownHostsFile: '/home/pg/.ssh/known_hosts',
        hostKeyCheck: 'yes',
        useAgent: true,
        connectTimeoutMs: 5000,
        keepaliveIntervalMs: 1666,
        keepaliveCountMax: 3,
        deadlineMs: 20000,
        remoteDirFsync: true,
        compress: { algo: 'none', level: 0 },
        cmdStandby: 'cmd_standby',
      },
      {
        entry: 'standby2:2222',
        name: 'standby2_2222',
        host: 'standby2',
        port: 2222,
        user: 'walreceiver',
        r_archivedir: '/srv/standby2/archive',
        identityFiles: defaults,
        knownHostsFile: '/etc/pitr/known_hosts',
        hostKeyCheck: 'accept-new',
        useAgent: true,
        connectTimeoutMs: 60000,
        keepaliveIntervalMs: 5000,
        keepaliveCountMax: 3,
        deadlineMs: 90000,
        remoteDirFsync: false,
        compress: { algo: 'none', level: 0 },
        cmdStandby: 'cmd_standby',
      },
      {
        entry: '[2001:db8::7]:22',
        name: '2001_db8__7_22',
        host: '2001:db8::7',
        port: 22,
        user: 'postgres',
        r_archivedir: '/pg/archive',
        identityFiles: defaults,
        knownHostsFile: '/home/pg/.ssh/known_hosts',
        hostKeyCheck: 'yes',
        useAgent: true,
        connectTimeoutMs: 5000,
        keepaliveIntervalMs: 1666,
        keepaliveCountMax: 3,
        deadlineMs: 20000,
        remoteDirFsync: true,
        compress: { algo: 'none', level: 0 },
        cmdStandby: 'cmd_standby',
      },
    ]);
  });

  it('a section changes ssh_port for entries without a port of their own', () => {
    const { config } = load(`${base('a, b')}ssh_port: 2200\n[b]\nssh_port: 2201\n`);
    assert.deepEqual(
      resolveSlaves(config, everyFileExists).map((t) => t.port),
      [2200, 2201],
    );
  });

  it('DEFAULT values are interpolated as seen through the section', () => {
    const text = '[DEFAULT]\npgdata: /d\nl_archivedir: /q\nr_archivedir: /srv/%(user)s/archive\nslaves: a, b\nuser: pg\n' + '[b]\nuser: other\n';
    const targets = resolveSlaves(load(text).config, everyFileExists);
    assert.deepEqual(
      targets.map((t) => t.r_archivedir),
      ['/srv/pg/archive', '/srv/other/archive'],
    );
  });

  it('a section that names no entry of slaves is an error, with a suggestion when close', () => {
    const err = expectConfigError(() => load(`${base('standby1, standby2')}[standby-1]\nuser: x\n`), {
      code: ConfigCode.UNKNOWN_SECTION,
      file: F,
      line: 6,
      key: undefined,
    });
    assert.match(err.message, /section \[standby-1\] names no entry of 'slaves' \(standby1, standby2\); did you mean \[standby1\]\?/);
    expectConfigError(() => load(`${base('s1')}[default]\nuser: x\n`), {
      code: ConfigCode.UNKNOWN_SECTION,
      line: 6,
      message: /did you mean \[DEFAULT\]\?/,
    });
    expectConfigError(() => load(`${base('s1')}[elsewhere]\n`), {
      code: ConfigCode.UNKNOWN_SECTION,
      line: 6,
      message: /must be named exactly like its entry/,
    });
  });

  it('a section may only set the per-slave keys', () => {
    expectConfigError(() => load(`${base('s1')}[s1]\nuser: x\npgdata: /other\n`), {
      code: ConfigCode.BAD_VALUE,
      file: F,
      line: 8,
      key: 'pgdata',
      message:
        /in \[s1\]: cannot be set per slave \(only r_archivedir, remote_dir_fsync, compress, user, ssh_port, ssh_identity, ssh_known_hosts, ssh_host_key_check, ssh_timeout, [a-z_, ]+\); move it to \[DEFAULT\]/,
    });
    expectConfigError(() => load(`${base('s1')}[s1]\nssh_prot: 22\n`), {
      code: ConfigCode.UNKNOWN_KEY,
      line: 7,
      key: 'ssh_prot',
      message: /in \[s1\]: not a cmd_archiver\.ini key \(did you mean 'ssh_port'\?\)/,
    });
  });

  it('bad values in a section name the section and its line', () => {
    expectConfigError(() => load(`${base('s1')}[s1]\nssh_timeout: soon\n`), {
      code: ConfigCode.BAD_VALUE,
      line: 7,
      key: 'ssh_timeout',
      message: /in \[s1\]: 'soon' is not a number of seconds/,
    });
    expectConfigError(() => load(`${base('s1')}[s1]\nr_archivedir: archive\n`), {
      code: ConfigCode.BAD_VALUE,
      line: 7,
      key: 'r_archivedir',
      message: /not an absolute path/,
    });
  });
});

describe('duplicate slaves', () => {
  it('the same entry twice, or the same host in another spelling, is an error', () => {
    for (const slaves of ['a, a', 'a, A', 'a, a:22', '[::1]:22, ::1']) {
      expectConfigError(() => load(base(slaves)), {
        code: ConfigCode.DUPLICATE_SLAVE,
        file: F,
        line: 5,
        key: 'slaves',
        message: /both ship to .*; list each standby once/,
      });
    }
  });

  it('the same host on another port, or as another user or directory, is allowed', () => {
    assert.equal(load(base('a, a:2222')).config.slaves.length, 2);
    const { config } = load(`${base('a, a:22')}[a:22]\nuser: second\n`);
    assert.deepEqual(
      resolveSlaves(config, everyFileExists).map((t) => `${t.user}@${t.host}:${t.port} ${t.name}`),
      ['postgres@a:22 a', 'second@a:22 a_22'],
    );
  });

  it('two entries that would share a queue directory are an error', () => {
    expectConfigError(() => load(`${base('a_22, a:22')}[a:22]\nuser: other\n`), {
      code: ConfigCode.DUPLICATE_SLAVE,
      line: 5,
      key: 'slaves',
      message: /would share the queue directory a_22/,
    });
  });
});

describe('identity files', () => {
  it('default candidates that do not exist are skipped, in order', () => {
    const { config } = load(base('s1'));
    const [t] = resolveSlaves(config, (p) => p.endsWith('id_rsa') || p.endsWith('id_ed25519'));
    assert.deepEqual(t!.identityFiles, ['/home/pg/.ssh/id_ed25519', '/home/pg/.ssh/id_rsa']);
    const [none] = resolveSlaves(config, () => false);
    assert.deepEqual(none!.identityFiles, [], 'the agent may still have keys');
  });

  it('a key file named in the file must exist', () => {
    const { config } = load(`${base('s1, s2')}ssh_identity: /keys/wal\n[s2]\nssh_identity: /keys/s2, /keys/s2b\n`);
    assert.deepEqual(
      resolveSlaves(config, everyFileExists).map((t) => t.identityFiles),
      [['/keys/wal'], ['/keys/s2', '/keys/s2b']],
    );
    expectConfigError(() => resolveSlaves(config, (p) => p !== '/keys/wal'), {
      code: ConfigCode.BAD_VALUE,
      file: F,
      line: 6,
      key: 'ssh_identity',
      message: /key file \/keys\/wal does not exist/,
    });
    expectConfigError(() => resolveSlaves(config, (p) => p !== '/keys/s2b'), {
      code: ConfigCode.BAD_VALUE,
      line: 8,
      key: 'ssh_identity',
      message: /key file \/keys\/s2b does not exist/,
    });
  });
});

describe('the master of a standby', () => {
  it('resolves host, port, user, keys and timeout', () => {
    const text =
      '[DEFAULT]\nmaster_public_ip: db1\nuser: postgres\narchivedir: /a\npgdata: /d\nssh_port: 2022\n' +
      'ssh_identity: ~/.ssh/standby\nssh_host_key_check: accept-new\nssh_timeout: 45\n';
    const { config } = parseConfig(text, '/etc/pitrtools/cmd_standby.ini', 'standby', env);
    assert.deepEqual(resolveMaster(config, everyFileExists), {
      host: 'db1',
      port: 2022,
      user: 'postgres',
      identityFiles: ['/home/pg/.ssh/standby'],
      knownHostsFile: '/home/pg/.ssh/known_hosts',
      hostKeyCheck: 'accept-new',
      useAgent: true,
      connectTimeoutMs: 45000,
      keepaliveIntervalMs: 5000,
      keepaliveCountMax: 3,
    });
    expectConfigError(() => resolveMaster(config, () => false), {
      code: ConfigCode.BAD_VALUE,
      line: 7,
      key: 'ssh_identity',
      message: /\/home\/pg\/\.ssh\/standby does not exist/,
    });
  });
});

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigCode } from '../src/config/codes.js';
import { loadConfig } from '../src/config/load.js';
import { parseConfig } from '../src/config/validate.js';
import { expectConfigError } from './fixtures/config/expect-config-error.js';

const env = { home: '/home/pg', username: 'walship' };
const F = '/etc/pitrtools/cmd_archiver.ini';
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/config/${name}`, import.meta.url));
const ARCH = '[DEFAULT]\npgdata: /pg/data\nl_archivedir: /pg/queue\nr_archivedir: /pg/archive\nslaves: standby1\n';
const STBY = '[DEFAULT]\nmaster_public_ip: master\nuser: postgres\narchivedir: /pg/archive\npgdata: /pg/data\n';
const archiver = (extra: string, base = ARCH) => parseConfig(base + extra, F, 'archiver', env);
const standby = (extra: string, base = STBY) => parseConfig(base + extra, F, 'standby', env);

describe('rsync_flags with -z reads as compress: zstd unless compress is set', () => {
  const cfg = (extra: string): string => `[DEFAULT]\npgdata: /d\nl_archivedir: /q\nr_archivedir: /a\nslaves: s1, s2\n${extra}`;
  it('-z, --compress and bundles such as -avz map (sections inherit it); other flags do not', () => {
    for (const flags of ['-z', '-avz', '--compress', '-a --compress']) {
      const { config, notices } = parseConfig(cfg(`rsync_flags: ${flags}\n`), '/x.ini', 'archiver', env);
      assert.equal(config.compress, 'zstd', flags);
      assert.equal(notices.filter((n) => /read as compress: zstd/.test(n.message)).length, 1, flags);
    }
    for (const flags of ['-a', '-z --no-compress', '--compress-level=0', '-e ssh']) {
      const { config, notices } = parseConfig(cfg(`rsync_flags: ${flags}\n`), '/x.ini', 'archiver', env);
      assert.equal(config.compress, 'none', flags);
      assert.ok(!notices.some((n) => /read as compress/.test(n.message)), flags);
    }
    const sec = parseConfig(cfg('rsync_flags: -z\n[s2]\nuser: other\n'), '/x.ini', 'archiver', env).config;
    assert.equal(sec.sections['s2']!.values.compress, 'zstd');
  });
  it('both files read rsync_flags the same way and say so in the same notice: file, line, key and the line to write', () => {
    for (const [flags, want] of [
      ['-avz', 'zstd'],
      ['--compress-level=9', 'zstd'],
      ['--zc=lz4', 'lz4'],
      ['-z --no-compress', 'none'],
      ['--zc=zstd --no-z', 'none'],
    ] as const) {
      const a = archiver(`rsync_flags: ${flags}\n`);
      const s = standby(`rsync_flags: ${flags}\n`);
      assert.equal(a.config.compress, want, `cmd_archiver, ${flags}`);
      assert.equal(s.config.compress ?? 'none', want, `cmd_standby, ${flags}`);
      const said = (n: readonly { level: string; message: string }[]) => n.filter((x) => /'rsync_flags'/.test(x.message));
      assert.deepEqual(said(s.notices), said(a.notices), flags);
      if (want === 'none') continue;
      assert.deepEqual(said(a.notices), [
        {
          level: 'warning',
          message:
            `${F}:6: key 'rsync_flags': '${flags}' asks rsync for compression, read as compress: ${want} (rsync is not run); ` +
            `write compress: ${want} in its place to keep it, or compress: none to send uncompressed`,
        },
      ]);
    }
  });
  it('an explicit compress wins, in DEFAULT or in a section, without the notice', () => {
    for (const extra of ['rsync_flags: -z\ncompress: lz4\n', 'rsync_flags: -z\n[s1]\ncompress: lz4\n']) {
      const { config, notices } = parseConfig(cfg(extra), '/x.ini', 'archiver', env);
      assert.ok(!notices.some((n) => /read as compress/.test(n.message)));
      assert.equal(config.sections['s1']?.values.compress ?? config.compress, 'lz4');
    }
  });
  it('compress takes none, lz4, zstd, zstd:N and refuses anything else naming the key', () => {
    assert.equal(parseConfig(cfg('compress: zstd:5\n'), '/x.ini', 'archiver', env).config.compress, 'zstd:5');
    assert.throws(() => parseConfig(cfg('compress: gzip\n'), '/x.ini', 'archiver', env), /key 'compress'.*'gzip' is not one of: none, lz4, zstd/);
  });
  it('both files refuse a bad compress in the same words, listing the valid values once', () => {
    for (const bad of ['gzip', 'zstd:25', 'lz4:2']) {
      const words = (run: () => unknown): string => {
        try {
          run();
        } catch (err) {
          return (err as Error).message.replace(/^.*?: key 'compress': /, '');
        }
        throw new Error(`compress: ${bad} was accepted`);
      };
      const a = words(() => archiver(`compress: ${bad}\n`));
      const s = words(() => standby(`compress: ${bad}\n`));
      assert.equal(s, a, bad);
      assert.equal(a, `'${bad}' is not one of: none, lz4, zstd, zstd:LEVEL (1-19)`, bad);
    }
  });
});

describe('the how-to files load unchanged', () => {
  it('cmd_archiver.ini of the how-to (indented as a whole, with `rsync_version = 3`)', () => {
    const { config, notices } = loadConfig(fixture('howto-cmd_archiver.ini'), 'archiver', { env });
    assert.equal(config.state, 'online');
    assert.equal(config.pgdata, '/var/lib/postgresql/8.4/main');
    assert.equal(config.r_archivedir, '/var/lib/postgresql/archive');
    assert.equal(config.l_archivedir, '/var/lib/postgresql/archive');
    assert.deepEqual(config.slaves, ['bitarena-clone']);
    assert.equal(config.user, 'postgres');
    assert.equal(config.ssh_timeout, 10);
    assert.equal(config.notify_ok, 'echo OK');
    assert.equal(config.notify_warning, 'echo WARNING');
    assert.equal(config.notify_critical, 'echo CRITICAL');
    assert.equal(config.debug, true);
    assert.equal(config.ssh_debug, false);
    assert.equal(config.sources['slaves'], 31);
    assert.equal(config.sources['ssh_port'], undefined, 'left at its default');
    assert.equal(config.ssh_port, 22);
    assert.equal(config.ssh_host_key_check, 'yes');
    assert.equal(config.queue_max_bytes, null);
    assert.deepEqual(config.sections, {});
    assert.equal('rsync_version' in config, false, 'keys without effect are not in the typed config');
    assert.deepEqual(
      notices.map((n) => n.level),
      ['warning', 'debug', 'debug', 'debug'],
    );
    const text = notices.map((n) => n.message).join('\n');
    for (const k of ['ssh', 'rsync_bin', 'rsync_version']) {
      assert.match(text, new RegExp(`^key ${k} has no effect since the TypeScript rewrite: `, 'm'));
    }
    // The how-to's rsync_flags: -z asked for compression on the wire: it now has that effect, said in one line.
    assert.equal(config.compress, 'zstd');
    assert.match(text, /:22: key 'rsync_flags': '-z' asks rsync for compression, read as compress: zstd/m);
  });

  it('cmd_standby.ini of the how-to', () => {
    const { config, notices } = loadConfig(fixture('howto-cmd_standby.ini'), 'standby', { env });
    assert.equal(config.master_public_ip, 'bitarena');
    assert.equal(config.master_local_ip, '127.0.0.1');
    assert.equal(config.user, 'postgres');
    assert.equal(config.master_db_user, 'postgres', 'defaults to user');
    assert.equal(config.port, 5432);
    assert.equal(config.use_streaming_replication, false);
    assert.equal(config.repl_db_user, 'replication');
    assert.equal(config.repl_db_password, 'replication');
    assert.equal(config.sslmode, 'prefer');
    assert.equal(config.pg_ctl, '/usr/lib/postgresql/8.4/bin/pg_ctl');
    assert.equal(config.ssh_timeout, 30);
    assert.equal(config.archivedir, '/var/lib/postgresql/archive');
    assert.equal(config.pg_hba_conf_failover, '/var/lib/postgresql/pitrtools/etc/pg_conf_failover/pg_hba.conf');
    assert.equal(config.no_copy_conf, false, 'commented out in the how-to');
    assert.equal(config.logfile, '/var/log/postgresql/postgresql-8.4-main.log');
    assert.equal(config.action_failover, '/var/lib/postgresql/pitrtools/scripts/failover.sh');
    assert.equal(config.check_lag_warn_bytes, 16 * 1024 * 1024);
    const warnings = notices.filter((n) => n.level === 'warning');
    assert.equal(warnings.length, 2, 'recovery_conf, and rsync_flags below');
    assert.match(warnings[1]!.message, /^key recovery_conf has no effect since PostgreSQL 12: recovery\.conf is gone/);
    const debug = notices.filter((n) => n.level === 'debug').map((n) => n.message.split(' ')[1]);
    assert.deepEqual(debug, ['pgversion', 'numarchives', 'trigger_file', 'ssh', 'rsync', 'pg_standby', 'pg_archivecleanup', 'r_psql']);
    // The how-to's -z means compress: zstd for -B, said as for cmd_archiver.ini.
    assert.equal(config.compress, 'zstd');
    assert.match(notices.map((n) => n.message).join('\n'), /:40: key 'rsync_flags': '-z' asks rsync for compression, read as compress: zstd/);
  });
});

describe('values and defaults', () => {
  it('fills defaults, expands ~ from env and takes the OS user for the archiver', () => {
    const { config, notices } = archiver('');
    assert.equal(config.user, 'walship');
    assert.deepEqual(config.ssh_identity, ['/home/pg/.ssh/id_ed25519', '/home/pg/.ssh/id_ecdsa', '/home/pg/.ssh/id_rsa']);
    assert.equal(config.ssh_known_hosts, '/home/pg/.ssh/known_hosts');
    assert.equal(config.queue_wait, 30);
    assert.equal(config.queue_alert_repeat, 3600);
    assert.equal(config.max_queue_workers, 4);
    assert.equal(config.check_queue_critical_age, 1800);
    assert.equal(config.notify_ok, undefined);
    assert.equal(config.file, F);
    assert.deepEqual(notices, []);
  });

  it('parses typed values and Python 2 inline comments', () => {
    const { config } = archiver(
      'state: OFFLINE ; maintenance\nssh_timeout: 2min\nqueue_max_bytes: 32GB\n' +
        'queue_warn_bytes: 1GB\ndebug: yes\nssh_identity: ~/.ssh/a, /keys/b\nnotify_ok:\n',
    );
    assert.equal(config.state, 'offline');
    assert.equal(config.ssh_timeout, 120);
    assert.equal(config.queue_max_bytes, 32 * 1024 ** 3);
    assert.equal(config.queue_warn_bytes, 1024 ** 3);
    assert.equal(config.debug, true);
    assert.deepEqual(config.ssh_identity, ['/home/pg/.ssh/a', '/keys/b']);
    assert.equal(config.notify_ok, undefined, 'an empty value is "not set"');
  });

  it('interpolates %(name)s between keys (only schema keys: any other name is an unknown key)', () => {
    const { config } = archiver(
      '',
      '[DEFAULT]\nuser: pgship\npgdata: /srv/%(user)s/data\n' + 'l_archivedir: %(pgdata)s/../queue\nr_archivedir: /archive/%(user)s\nslaves: s1\n',
    );
    assert.equal(config.pgdata, '/srv/pgship/data');
    assert.equal(config.l_archivedir, '/srv/pgship/queue');
    assert.equal(config.r_archivedir, '/archive/pgship');
    expectConfigError(() => archiver('base: /srv\n'), { code: ConfigCode.UNKNOWN_KEY, line: 6, key: 'base' });
  });

  it('the config types follow the schema', () => {
    const { config } = archiver('');
    const state: 'online' | 'offline' = config.state;
    const limit: number | null = config.queue_max_bytes;
    const hook: string | undefined = config.notify_ok;
    const slaves: string[] = config.slaves;
    // @ts-expect-error keys without effect are not part of the type
    assert.equal(config.rsync_bin, undefined);
    assert.deepEqual([state, limit, hook, slaves], ['online', null, undefined, ['standby1']]);
  });

  it('master_db_user defaults to user but can be set', () => {
    assert.equal(standby('').config.master_db_user, 'postgres');
    assert.equal(standby('master_db_user: dba\n').config.master_db_user, 'dba');
  });

  it('reads includepath as a colon list of paths and tablespace_mapping as pairs', () => {
    const { config } = standby('includepath: /usr/lib/postgresql/16/bin:/usr/bin\ntablespace_mapping: /a=/b, /c=/d\n');
    assert.deepEqual(config.includepath, ['/usr/lib/postgresql/16/bin', '/usr/bin']);
    assert.deepEqual(config.tablespace_mapping, ['/a=/b', '/c=/d']);
  });

  it('reports a key set twice and uses the later line', () => {
    const { config, notices } = archiver('user: a\nssh_port: 2\nuser: b\n');
    assert.equal(config.user, 'b');
    assert.deepEqual(notices, [{ level: 'warning', message: 'key user set twice (lines 6 and 8); using line 8' }]);
  });

  it('warns when host keys are not checked, and when legacy ssh flags are dropped', () => {
    const a = archiver('ssh_host_key_check: no\n');
    assert.equal(a.config.ssh_host_key_check, 'no');
    assert.equal(a.notices.length, 1);
    assert.equal(a.notices[0]!.level, 'warning');
    assert.match(a.notices[0]!.message, /ssh_host_key_check' is 'no': any host key is accepted/);
    const b = archiver('ssh: /usr/bin/ssh -p 2222\n');
    assert.deepEqual(
      b.notices.map((n) => n.level),
      ['warning'],
    );
    assert.match(b.notices[0]!.message, /flags in '\/usr\/bin\/ssh -p 2222' are no longer applied.*set ssh_port: 2222/);
    assert.deepEqual(
      archiver('ssh: /usr/bin/ssh\n').notices.map((n) => n.level),
      ['debug'],
    );
  });
});

describe('reading the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitr-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a file from disk', () => {
    const file = join(dir, 'ok.ini');
    writeFileSync(file, ARCH);
    assert.deepEqual(loadConfig(file, 'archiver', { env }).config.slaves, ['standby1']);
  });

  it('names a missing file', () => {
    const file = join(dir, 'nope.ini');
    const err = expectConfigError(() => loadConfig(file, 'archiver', { env }), {
      code: ConfigCode.UNREADABLE,
      file,
      line: undefined,
      key: undefined,
    });
    assert.equal(err.message, `${file}: cannot read the configuration file: no such file (check the path given with -C)`);
  });

  it('names a directory given instead of a file', () => {
    expectConfigError(() => loadConfig(dir, 'standby', { env }), {
      code: ConfigCode.UNREADABLE,
      file: dir,
      line: undefined,
      message: /is a directory, not a file/,
    });
  });

  // The suite runs unprivileged (scripts/run-tests.mjs refuses root), where mode 000 really denies.
  it('names an unreadable file', () => {
    assert.notEqual(process.getuid?.(), 0, 'root reads any file: run the tests as the unprivileged user');
    const file = join(dir, 'secret.ini');
    writeFileSync(file, ARCH);
    chmodSync(file, 0o000);
    expectConfigError(() => loadConfig(file, 'archiver', { env }), {
      code: ConfigCode.UNREADABLE,
      file,
      line: undefined,
      message: /permission denied \(it must be readable by /,
    });
  });
});

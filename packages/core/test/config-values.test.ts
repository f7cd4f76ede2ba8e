import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeySpec } from '../src/config/schema.js';
import { parseSlaveEntry, slaveQueueName } from '../src/config/slaves.js';
import { didYouMean, editDistance } from '../src/config/suggest.js';
import { parseTablespaceMapping } from '../src/config/tablespace-mapping.js';
import { parseBool, parseBytes, parseInteger, parseList, parsePath, parseSeconds, parseValue, type Parsed } from '../src/config/values.js';

const ok = <T>(r: Parsed<T>): T => {
  assert.ok('value' in r, `expected a value, got ${JSON.stringify(r)}`);
  return r.value;
};
const err = (r: Parsed<unknown>): string => {
  assert.ok('error' in r, `expected an error, got ${JSON.stringify(r)}`);
  return r.error;
};
const env = { home: '/home/pg', username: 'pg' };

describe('value types', () => {
  it('bool: on/off yes/no true/false 1/0 in any case', () => {
    for (const t of ['on', 'ON', 'yes', 'Yes', 'true', 'TRUE', '1', ' on ']) assert.equal(ok(parseBool(t)), true, t);
    for (const t of ['off', 'Off', 'no', 'NO', 'false', 'False', '0']) assert.equal(ok(parseBool(t)), false, t);
    assert.match(err(parseBool('maybe')), /'maybe' is not a boolean \(use on\/off, yes\/no, true\/false or 1\/0\)/);
    err(parseBool('2'));
    err(parseBool('enabled'));
  });

  it('int: plain decimal only', () => {
    assert.equal(ok(parseInteger('5432')), 5432);
    assert.equal(ok(parseInteger('-3')), -3);
    for (const t of ['1.5', '0x10', '1e3', '', 'ten', '12abc']) err(parseInteger(t));
  });

  it('bytes: units are 1024-based; unlimited and -1 mean no limit', () => {
    assert.equal(ok(parseBytes('123')), 123);
    assert.equal(ok(parseBytes('100B')), 100);
    assert.equal(ok(parseBytes('512kB')), 512 * 1024);
    assert.equal(ok(parseBytes('16MB')), 16 * 1024 ** 2);
    assert.equal(ok(parseBytes('16 mb')), 16 * 1024 ** 2);
    assert.equal(ok(parseBytes('1GB')), 1024 ** 3);
    assert.equal(ok(parseBytes('2TB')), 2 * 1024 ** 4);
    assert.equal(ok(parseBytes('1.5GB')), 1.5 * 1024 ** 3);
    assert.equal(ok(parseBytes('1GiB')), 1024 ** 3);
    assert.equal(ok(parseBytes('unlimited')), null);
    assert.equal(ok(parseBytes('Unlimited')), null);
    assert.equal(ok(parseBytes('-1')), null);
    assert.match(err(parseBytes('lots')), /'lots' is not a size \(e\.g\. 16MB/);
    for (const t of ['-2', '16XB', 'MB', '']) err(parseBytes(t));
  });

  it('seconds: plain seconds or ms/s/min/h/d, returned in seconds', () => {
    assert.equal(ok(parseSeconds('10')), 10);
    assert.equal(ok(parseSeconds('30s')), 30);
    assert.equal(ok(parseSeconds('2min')), 120);
    assert.equal(ok(parseSeconds('1h')), 3600);
    assert.equal(ok(parseSeconds('1d')), 86400);
    assert.equal(ok(parseSeconds('500ms')), 0.5);
    assert.equal(ok(parseSeconds('1.5 min')), 90);
    assert.equal(ok(parseSeconds('2 H')), 7200);
    assert.match(err(parseSeconds('ten')), /^'ten' is not a number of seconds \(e\.g\. 10, 30s, 2min\)$/);
    for (const t of ['-5', '5m', '5 hours', '']) err(parseSeconds(t));
  });

  it('list: comma-separated, trimmed, empty items dropped; line breaks separate too', () => {
    assert.deepEqual(parseList(' a , b,,c ,'), ['a', 'b', 'c']);
    assert.deepEqual(parseList('a,\nb\nc'), ['a', 'b', 'c']);
    assert.deepEqual(parseList(' , '), []);
    assert.deepEqual(parseList('/a:/b: :/c', ':'), ['/a', '/b', '/c']);
  });

  it('path: absolute required, ~ expanded, normalised', () => {
    assert.equal(ok(parsePath('/var/lib/pg/', '/h')), '/var/lib/pg');
    assert.equal(ok(parsePath('/var//lib/./pg', '/h')), '/var/lib/pg');
    assert.equal(ok(parsePath('~', '/home/pg')), '/home/pg');
    assert.equal(ok(parsePath('~/.ssh/id_rsa', '/home/pg')), '/home/pg/.ssh/id_rsa');
    assert.equal(ok(parsePath('/', '/h')), '/');
    assert.match(
      err(parsePath('data/main', '/h', '/var/lib/postgresql/15/main')),
      /'data\/main' is not an absolute path \(write it from \/, e\.g\. \/var\/lib\/postgresql\/15\/main\)/,
    );
    assert.match(err(parsePath('~postgres/x', '/h')), /only ~\/ is expanded/);
  });

  it('parseValue applies enum values (case-insensitive) and min/max', () => {
    const e: KeySpec = { name: 'k', type: 'enum', doc: '', group: '', values: ['yes', 'accept-new', 'no'] };
    assert.equal(ok(parseValue(e, 'Accept-New', env)), 'accept-new');
    assert.match(err(parseValue(e, 'maybe', env)), /'maybe' is not one of: yes, accept-new, no/);
    const port: KeySpec = { name: 'p', type: 'int', doc: '', group: '', min: 1, max: 65535 };
    assert.equal(ok(parseValue(port, '65535', env)), 65535);
    assert.match(err(parseValue(port, '0', env)), /'0' is below the minimum of 1/);
    assert.match(err(parseValue(port, '70000', env)), /'70000' is above the maximum of 65535/);
    const secs: KeySpec = { name: 's', type: 'seconds', doc: '', group: '', min: 1 };
    assert.match(err(parseValue(secs, '500ms', env)), /'500ms' is below the minimum of 1s/);
    const paths: KeySpec = { name: 'ps', type: 'paths', doc: '', group: '', separator: ':' };
    assert.deepEqual(ok(parseValue(paths, '/usr/bin:~/bin', env)), ['/usr/bin', '/home/pg/bin']);
    assert.match(err(parseValue(paths, '/usr/bin:bin', env)), /'bin' is not an absolute path/);
  });
});

describe('slave entries', () => {
  it('host alone keeps its name as the queue directory (as 1.3)', () => {
    assert.deepEqual(ok(parseSlaveEntry(' bitarena-clone ')), { entry: 'bitarena-clone', host: 'bitarena-clone', port: undefined, name: 'bitarena-clone' });
    assert.deepEqual(ok(parseSlaveEntry('192.168.1.201')), { entry: '192.168.1.201', host: '192.168.1.201', port: undefined, name: '192.168.1.201' });
  });

  it('host:port joins host and port with _', () => {
    assert.deepEqual(ok(parseSlaveEntry('standby2:2222')), { entry: 'standby2:2222', host: 'standby2', port: 2222, name: 'standby2_2222' });
  });

  it('[IPv6]:port and bare IPv6 addresses', () => {
    assert.deepEqual(ok(parseSlaveEntry('[2001:db8::7]:2222')), { entry: '[2001:db8::7]:2222', host: '2001:db8::7', port: 2222, name: '2001_db8__7_2222' });
    assert.deepEqual(ok(parseSlaveEntry('[::1]')), { entry: '[::1]', host: '::1', port: undefined, name: '::1' });
    assert.deepEqual(ok(parseSlaveEntry('fe80::1')), { entry: 'fe80::1', host: 'fe80::1', port: undefined, name: 'fe80::1' });
  });

  it("drops the ' quotes 1.3 removed", () => {
    assert.equal(ok(parseSlaveEntry("'standby1'")).host, 'standby1');
  });

  it('rejects bad hosts and ports', () => {
    assert.match(err(parseSlaveEntry('standby:0')), /port '0' is not a number from 1 to 65535/);
    assert.match(err(parseSlaveEntry('standby:65536')), /port/);
    assert.match(err(parseSlaveEntry('standby:ssh')), /port 'ssh'/);
    assert.match(err(parseSlaveEntry('standby:')), /port ''/);
    assert.match(err(parseSlaveEntry('[standby]:22')), /inside \[\] is not an IPv6 address/);
    assert.match(err(parseSlaveEntry('a:b:c')), /not an IPv6 address/);
    assert.match(err(parseSlaveEntry('../../etc')), /is not a host name/);
    assert.match(err(parseSlaveEntry('user@host')), /is not a host name/);
    err(parseSlaveEntry('host name'));
  });

  it('queue names keep only [A-Za-z0-9._-] when a port is given', () => {
    assert.equal(slaveQueueName('h', undefined), 'h');
    assert.equal(slaveQueueName('::1', 22), '__1_22');
  });
});

describe('tablespace_mapping entries', () => {
  it('splits OLDDIR=NEWDIR at the first unescaped =', () => {
    assert.deepEqual(ok(parseTablespaceMapping('/srv/ts1=/data/ts1')), { olddir: '/srv/ts1', newdir: '/data/ts1' });
    assert.deepEqual(ok(parseTablespaceMapping('/srv/a\\=b = /data/c')), { olddir: '/srv/a=b', newdir: '/data/c' });
    assert.deepEqual(ok(parseTablespaceMapping('/srv/a=/data/b\\=c')), { olddir: '/srv/a', newdir: '/data/b=c' });
  });

  it('rejects a missing =, a second = and relative directories', () => {
    assert.match(err(parseTablespaceMapping('/srv/ts1')), /is not OLDDIR=NEWDIR/);
    assert.match(err(parseTablespaceMapping('/a=/b=/c')), /is not OLDDIR=NEWDIR/);
    assert.match(err(parseTablespaceMapping('srv=/data')), /both directories must be absolute/);
  });
});

describe('did you mean', () => {
  it('counts a swap of neighbouring letters as one edit', () => {
    assert.equal(editDistance('r_archivedir', 'r_archviedir'), 1);
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('suggests only close names', () => {
    const keys = ['r_archivedir', 'l_archivedir', 'ssh_timeout', 'user', 'slaves'];
    assert.equal(didYouMean('r_archivdir', keys), 'r_archivedir');
    assert.equal(didYouMean('ssh-timeout', keys), 'ssh_timeout');
    assert.equal(didYouMean('ssh_timout', keys), 'ssh_timeout');
    assert.equal(didYouMean('usr', keys), 'user');
    assert.equal(didYouMean('slave', keys), 'slaves');
    assert.equal(didYouMean('archivedir', keys), 'r_archivedir');
    assert.equal(didYouMean('hostname', keys), undefined);
    assert.equal(didYouMean('xyz', keys), undefined);
  });
});

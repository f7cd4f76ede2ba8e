import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conninfoServer, parseConninfo } from '@pitrtools/core/pg/conninfo';

test('keyword/value as Patroni formats it (format_dsn escapes space, quote and backslash with a backslash)', () => {
  assert.deepEqual(parseConninfo("dbname=postgres user=re\\ pl\\'i\\\\ca host=10.0.0.7 port=5433"), {
    dbname: 'postgres',
    user: "re pl'i\\ca",
    host: '10.0.0.7',
    port: '5433',
  });
  assert.deepEqual(conninfoServer('dbname=postgres user=r host=10.0.0.7 port=5433'), { host: '10.0.0.7', port: 5433 });
});

test("libpq's quoted values, spaces around =, default port", () => {
  assert.deepEqual(parseConninfo("host = 'db one'  user='it\\'s' application_name=''"), { host: 'db one', user: "it's", application_name: '' });
  assert.deepEqual(conninfoServer("host='db one'"), { host: 'db one', port: 5432 });
});

test('URI form', () => {
  assert.deepEqual(conninfoServer('postgresql://rep@db2.example.net:6432/postgres?sslmode=require'), { host: 'db2.example.net', port: 6432 });
  assert.equal(parseConninfo('postgres://u%40x@h/db').user, 'u@x');
});

test('what names no single TCP server is refused (exit 2, BAD_CONNINFO)', () => {
  const refused = (s: string, re: RegExp): void =>
    assert.throws(
      () => conninfoServer(s),
      (e: Error & { code?: string; exitCode?: number }) => e.code === 'BAD_CONNINFO' && e.exitCode === 2 && re.test(e.message),
    );
  refused('dbname=postgres port=5432', /names no host/);
  refused('host=a,b port=5432', /several hosts/);
  refused('host=/var/run/postgresql', /Unix socket/);
  refused('host=a port=99999', /not a TCP port/);
  refused("host='a", /unterminated/);
  refused('host a', /missing "="/);
});

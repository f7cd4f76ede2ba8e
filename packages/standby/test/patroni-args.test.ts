import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePatroniArgs } from '../src/patroni-args.js';

// What Patroni 3.0 runs (patroni/postgresql/bootstrap.py, create_replica): shlex.split(command) + --key=value per parameter.
const patroni = [
  '--patroni-replica',
  '-C',
  '/etc/pitrtools/cmd_standby.ini',
  '--keep_data=False',
  '--scope=main',
  '--role=replica',
  '--datadir=/var/lib/postgresql/15/main',
  '--connstring=dbname=postgres user=replicator host=10.0.0.1 port=5432',
];

test("Patroni's arguments: scope, datadir, connstring taken; unknown --key=value ignored (listed for a debug line)", () => {
  const inv = parsePatroniArgs(patroni);
  assert.equal(inv.config, '/etc/pitrtools/cmd_standby.ini');
  assert.deepEqual(inv.options, {
    datadir: '/var/lib/postgresql/15/main',
    connstring: 'dbname=postgres user=replicator host=10.0.0.1 port=5432',
    scope: 'main',
  });
  assert.deepEqual(inv.ignored, ['--keep_data=False']);
  assert.equal(parsePatroniArgs([...patroni, '--checksum=true', '-v']).options.checksum, true);
});

test('refused with exit 2 and the reason: no ini, no datadir, no connstring, another role, a bare word', () => {
  const refused = (argv: string[], re: RegExp): void =>
    assert.throws(
      () => parsePatroniArgs(argv),
      (e: Error & { code?: string; exitCode?: number }) => e.code === 'USAGE' && e.exitCode === 2 && re.test(e.message),
    );
  refused(
    patroni.filter((a) => !a.includes('cmd_standby.ini') && a !== '-C'),
    /-C <cmd_standby.ini> is required/,
  );
  refused(
    patroni.filter((a) => !a.startsWith('--datadir')),
    /--datadir/,
  );
  refused(
    patroni.filter((a) => !a.startsWith('--connstring')),
    /no leader is known/,
  );
  refused([...patroni, '--role=master'], /only a replica/);
  refused([...patroni, 'stray'], /unexpected argument 'stray'/);
  refused([...patroni, '--checksum=maybe'], /true or false/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataDirRule, keptSubdirs, tablespaceRule, unloggedForks } from '../src/basebackup/exclusions.js';
import { localLocation, rewriteTablespaceMap } from '../src/basebackup/tablespaces.js';

test('what pg_basebackup leaves out is left out', () => {
  for (const p of [
    'postmaster.pid',
    'postmaster.opts',
    'backup_label',
    'tablespace_map',
    'backup_manifest',
    'standby.signal',
    'recovery.signal',
    'current_logfiles',
    'postgresql.auto.conf.tmp',
    'base/5/pgsql_tmp',
    'base/pgsql_tmp12.3',
    'global/pg_internal.init',
    'base/5/pg_internal.init',
    'base/5/t3_16384',
    'base/5/t3_16384_fsm',
    'base/5/.16384.123.abcd.tmp',
  ]) {
    assert.equal(dataDirRule(p), 'exclude', p);
  }
  for (const d of ['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']) {
    assert.equal(dataDirRule(d), 'empty-dir', d);
  }
  assert.deepEqual(keptSubdirs('pg_wal'), ['archive_status']);
});

test('the standby keeps its own configuration and our files; pg_control comes last; the rest is copied', () => {
  assert.equal(dataDirRule('postgresql.conf'), 'keep-local');
  assert.equal(dataDirRule('pg_hba.conf'), 'keep-local');
  for (const p of ['pitrtools.conf', 'pitrtools.pgpass', 'pitrtools_basebackup.incomplete']) assert.equal(dataDirRule(p), 'ours');
  assert.equal(dataDirRule('global/pg_control'), 'last');
  for (const p of [
    'PG_VERSION',
    'base/5/16384',
    'base/5/16384.1',
    'postgresql.auto.conf',
    'pg_ident.conf',
    'pg_xact/0000',
    'global/1262',
    'pg_wal_extra',
    'base/5/pg_filenode.map',
    'log/postgresql.log',
    'base/5/postgresql.conf',
  ]) {
    assert.equal(dataDirRule(p), 'copy', p);
  }
  assert.equal(tablespaceRule('PG_15_202209061/5/16390'), 'copy');
  assert.equal(tablespaceRule('PG_15_202209061/5/t4_16390'), 'exclude');
  assert.equal(tablespaceRule('PG_15_202209061/pgsql_tmp'), 'exclude');
});

test('tablespace_mapping applies to whole locations, and to tablespace_map', () => {
  const m = [{ olddir: '/srv/ts1', newdir: '/data/ts1' }];
  assert.equal(localLocation('/srv/ts1', m), '/data/ts1');
  assert.equal(localLocation('/srv/ts1/', m), '/data/ts1');
  assert.equal(localLocation('/srv/ts10', m), '/srv/ts10');
  assert.equal(rewriteTablespaceMap('16390 /srv/ts1\n16391 /srv/ts2\n', m), '16390 /data/ts1\n16391 /srv/ts2\n');
  assert.equal(rewriteTablespaceMap('16390 /srv/ts1\n', []), '16390 /srv/ts1\n');
});

test('unlogged relations: every fork but the init fork is left out', () => {
  assert.deepEqual([...unloggedForks(['16384', '16384_init', '16384_fsm', '16384_vm', '16384.1', '16390', '16390_fsm', '163840'])].sort(), [
    '16384',
    '16384.1',
    '16384_fsm',
    '16384_vm',
  ]);
  assert.equal(unloggedForks(['1', '2', 'PG_VERSION']).size, 0);
});

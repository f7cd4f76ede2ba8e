/** --check decisions and output format, on a real queue directory and a chosen clock. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '@pitrtools/core/config/validate';
import { checkCommand, formatNagios } from '../src/commands/check.js';
import { seg } from './fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const q = join(dir, 'q');
const env = { home: '/home/pg', username: 'pg' };
const config = (extra = '') =>
  parseConfig(
    `pgdata: /pg\nl_archivedir: ${q}\nr_archivedir: /a\nslaves: s1, s2\nqueue_warn_bytes: 20\nqueue_critical_bytes: 40\n${extra}`,
    join(dir, 'a.ini'),
    'archiver',
    env,
  ).config;
const NOW = 2_000_000_000_000;
const queue = (slave: string, n: number, ageS: number, size = 10): void => {
  mkdirSync(join(q, slave), { recursive: true });
  const p = join(q, slave, seg(n));
  writeFileSync(p, 'x'.repeat(size));
  utimesSync(p, (NOW - ageS * 1000) / 1000, (NOW - ageS * 1000) / 1000);
};

describe('--check', () => {
  it('no l_archivedir: UNKNOWN (3), saying how to create it', async () => {
    const r = await checkCommand({ config: config(), now: NOW });
    assert.equal(r.state, 'UNKNOWN');
    assert.equal(r.code, 3);
    assert.match(formatNagios(r), /^PITR_ARCHIVER UNKNOWN - l_archivedir .* does not exist \(cmd_archiver -C .* -I creates it\)$/);
  });

  it('empty queues: OK with perfdata per slave', async () => {
    mkdirSync(join(q, 's1'), { recursive: true });
    const r = await checkCommand({ config: config(), now: NOW });
    assert.equal(r.code, 0);
    assert.equal(
      formatNagios(r),
      "PITR_ARCHIVER OK - 2 slaves, all queues empty | 'queue_bytes_s1'=0B;20;40;0 'queue_files_s1'=0;;;0 " +
        "'oldest_age_s1'=0s;300;1800;0 'queue_bytes_s2'=0B;20;40;0 'queue_files_s2'=0;;;0 'oldest_age_s2'=0s;300;1800;0",
    );
  });

  it('a young small queue is OK; age past the thresholds WARNING then CRITICAL; -w/-c override the keys', async () => {
    queue('s1', 1, 10);
    let r = await checkCommand({ config: config(), now: NOW });
    assert.equal(r.state, 'OK');
    assert.match(r.summary, /s1: 1 queued \(10 B\), oldest 10s/);
    r = await checkCommand({ config: config(), now: NOW, warnAge: 5 });
    assert.equal(r.state, 'WARNING');
    r = await checkCommand({ config: config(), now: NOW, warnAge: 5, critAge: 9 });
    assert.equal(r.state, 'CRITICAL');
    assert.match(formatNagios(r), /'oldest_age_s1'=10s;5;9;0/);
    queue('s1', 2, 4000);
    r = await checkCommand({ config: config(), now: NOW });
    assert.equal(r.state, 'CRITICAL');
    assert.equal(r.slaves[0]!.oldestAgeS, 4000);
  });

  it('size: WARNING past queue_warn_bytes, CRITICAL past queue_critical_bytes', async () => {
    rmSync(join(q, 's1'), { recursive: true });
    queue('s1', 1, 1, 15);
    queue('s1', 2, 1, 15);
    let r = await checkCommand({ config: config(), now: NOW });
    assert.equal(r.state, 'WARNING');
    assert.match(formatNagios(r), /'queue_bytes_s1'=30B;20;40;0 'queue_files_s1'=2;;;0/);
    queue('s1', 3, 1, 15);
    r = await checkCommand({ config: config(), now: NOW });
    assert.equal(r.state, 'CRITICAL');
  });

  it('offline is WARNING; a dropped slave and a recorded conflict are CRITICAL; JSON has the same facts', async () => {
    rmSync(join(q, 's1'), { recursive: true });
    mkdirSync(join(q, 's1'));
    let r = await checkCommand({ config: config('state: offline\n'), now: NOW });
    assert.equal(r.state, 'WARNING');
    assert.match(r.summary, /archiving is offline/);
    mkdirSync(join(q, 's2'));
    writeFileSync(join(q, 's2', 'NEEDS_BASE_BACKUP'), 'dropped at some time\n');
    writeFileSync(join(q, 's1', `.conflict.${seg(7)}`), 'x');
    r = await checkCommand({ config: config(), now: NOW });
    assert.equal(r.state, 'CRITICAL');
    assert.match(r.summary, new RegExp(`s1 holds a different ${seg(7)}.*s2 dropped, needs a new base backup and --reset-slave`));
    const j = JSON.parse(JSON.stringify(r)) as typeof r;
    assert.deepEqual(
      j.slaves.map((s) => [s.name, s.state, s.conflicts, s.detached]),
      [
        ['s1', 'CRITICAL', [seg(7)], null],
        ['s2', 'CRITICAL', [], 'dropped at some time\n'],
      ],
    );
    assert.equal(j.daemonPid, null);
  });

  it('a queue others can write to (what -F refuses, exit 2): CRITICAL with the fix', async () => {
    chmodSync(join(q, 's2'), 0o777);
    try {
      const r = await checkCommand({ config: config(), now: NOW });
      assert.equal(r.state, 'CRITICAL');
      assert.match(
        formatNagios(r),
        new RegExp(
          `^PITR_ARCHIVER CRITICAL - refusing to write in the queue of slave s2 ${join(q, 's2')}: it is writable by others .*\\(chmod 0700 ${join(q, 's2')}\\)`,
        ),
      );
    } finally {
      chmodSync(join(q, 's2'), 0o700);
    }
  });
});

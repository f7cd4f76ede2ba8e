import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFastPath } from '../src/fast-path.js';
import { cleanupCutoff, cleanupVictims } from '../src/recovery/cleanup-select.js';
import { evaluateCheck, lsnDiff, renderNagios } from '../src/recovery/check-report.js';
import { Progress, progressLine } from '../src/basebackup/progress.js';

test('cleanup: pg_archivecleanup order, ignoring the timeline; never .history', () => {
  const cut = cleanupCutoff('000000020000000100000004')!;
  assert.equal(cut, '0000000100000004');
  assert.deepEqual(
    cleanupVictims(
      [
        '000000010000000100000003',
        '000000030000000100000003.partial',
        '000000010000000100000004',
        '000000010000000000000099.00000028.backup',
        '00000002.history',
        'RECOVERYXLOG',
        '000000020000000100000005',
      ],
      cut,
    ),
    ['000000010000000100000003', '000000030000000100000003.partial', '000000010000000000000099.00000028.backup'],
  );
  assert.equal(cleanupCutoff('00000002.history'), undefined);
  assert.equal(cleanupCutoff('junk'), undefined);
});

test('fast path: only --restore/--cleanup or a plain -B with -C, in the spellings PostgreSQL and people use', () => {
  assert.deepEqual(parseFastPath(['-C', '/e/s.ini', '--restore', 'F', 'P']), { kind: 'restore', config: '/e/s.ini', file: 'F', dest: 'P', verbose: false });
  assert.deepEqual(parseFastPath(['--cleanup', 'R', '-C/e/s.ini']), { kind: 'cleanup', config: '/e/s.ini', restartFile: 'R', verbose: false });
  assert.deepEqual(parseFastPath(['--config=/e/s.ini', '--restore', 'F', 'P', '-v'])?.verbose, true);
  assert.deepEqual(parseFastPath(['-C', 'x', '-B']), { kind: 'basebackup', config: 'x', checksum: false, verbose: false });
  assert.deepEqual(parseFastPath(['--basebackup', '--checksum', '-v', '--config=x']), { kind: 'basebackup', config: 'x', checksum: true, verbose: true });
  // Everything else goes to yargs, which checks it (and says what is wrong).
  for (const argv of [
    ['-C', 'x', '-Bv'],
    ['-C', 'x', '-B', '-S'],
    ['-C', 'x', '-B', '--restore', 'F', 'P'],
    ['-C', 'x', '--checksum'],
    ['-B'],
    ['-C', 'x', '-B', '--force'],
  ]) {
    assert.equal(parseFastPath(argv), undefined, argv.join(' '));
  }
  assert.equal(parseFastPath(['--restore', 'F', 'P']), undefined);
  assert.equal(parseFastPath(['-C', 'x', '--restore', 'F', 'P', '--cleanup', 'R']), undefined);
  assert.equal(parseFastPath(['-C', 'x', '--restore', 'F']), undefined);
});

const off = { warn: null, crit: null };
const t = { warnBytes: 100, critBytes: 1000, warnSeconds: 60, critSeconds: 600, stuck: off, receiver: off, master: off, restored: off, allowPrimary: false };

test('--check verdicts', () => {
  const ok = evaluateCheck({ running: true, inRecovery: true, lagBytes: 0, lagSource: 'master', lagSeconds: 3, archivedirBytes: 10, notes: [] }, t);
  assert.equal(ok.code, 0);
  assert.equal(
    renderNagios(ok),
    "PITR_STANDBY OK - in recovery, replay lag 0 B (vs master), 3 s since the last replayed transaction, archivedir 10 B | 'lag_bytes'=0B;100;1000;0 'lag_seconds'=3s;60;600;0 'receive_lag_bytes'=U;;;0 'replay_stuck'=U;;;0 'restored_age'=U;;;0 'archivedir'=10B;;;0",
  );
  assert.equal(evaluateCheck({ running: true, inRecovery: true, lagBytes: 100, notes: [] }, t).code, 1);
  assert.equal(evaluateCheck({ running: true, inRecovery: true, lagBytes: 5000, notes: [] }, t).code, 2);
  assert.equal(evaluateCheck({ running: true, inRecovery: true, lagSeconds: 61, notes: [] }, t).code, 1);
  assert.equal(evaluateCheck({ running: true, inRecovery: true, lagSeconds: 601, notes: [] }, t).code, 2);
  assert.equal(evaluateCheck({ running: false, notes: [] }, t).code, 2);
  assert.equal(evaluateCheck({ running: true, inRecovery: false, notes: [] }, t).code, 2);
  assert.equal(evaluateCheck({ running: true, inRecovery: false, notes: [] }, { ...t, allowPrimary: true }).code, 0);
  const unknownLag = evaluateCheck({ running: true, inRecovery: true, notes: ['master down'] }, { ...t, warnBytes: null, critBytes: null });
  assert.match(renderNagios(unknownLag), /replay lag in bytes unknown.*'lag_bytes'=U;;;0.*\nmaster down$/s);
});

test('LSN arithmetic and progress formatting', () => {
  assert.equal(lsnDiff('1/0', '0/FFFFFFFF'), 1);
  assert.equal(lsnDiff('0/3000028', '0/3000000'), 40);
  assert.equal(progressLine(512 * 1024 * 1024, 1024 * 1024 * 1024, 2000), '-B: 512.0 MiB of 1.0 GiB (50%), 256.0 MiB/s, ETA 2.0 s');
});

test('-B progress: redrawn on a TTY, silent otherwise', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const written: string[] = [];
  const tty = new Progress(
    {
      isTTY: true,
      write: (s) => {
        written.push(s);
      },
    },
    4096,
  );
  tty.add(2048);
  t.mock.timers.tick(250);
  tty.end();
  assert.match(written[0]!, /^\r\x1b\[K-B: 2\.0 KiB of 4\.0 KiB \(50%\), /);
  assert.equal(written[written.length - 1], '\r\x1b[K');
  const quiet: string[] = [];
  const pipe = new Progress(
    {
      isTTY: false,
      write: (s) => {
        quiet.push(s);
      },
    },
    4096,
  );
  pipe.add(4096);
  t.mock.timers.tick(1000);
  pipe.end();
  assert.deepEqual(quiet, []);
});

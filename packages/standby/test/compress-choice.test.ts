import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseCompress, rsyncCompresses, senderPlan } from '../src/basebackup/compress-choice.js';

test("rsync_flags' -z in any spelling means compression; other flags do not", () => {
  for (const f of ['-z', '-az', '-avz --partial', '--compress', '--compress-level=3', '-e ssh -z']) assert.ok(rsyncCompresses(f), f);
  for (const f of ['-a', '--partial', '-e zssh', '--no-compress', '']) assert.ok(!rsyncCompresses(f), f);
});

test('compress wins over rsync_flags; rsync_flags -z alone means zstd with one notice naming the file', () => {
  const notices: string[] = [];
  const n = (l: string): void => {
    notices.push(l);
  };
  assert.equal(chooseCompress({ compress: 'zstd:3', rsync_flags: '-z', file: '/etc/s.ini' }, n), 'zstd:3');
  assert.equal(chooseCompress({ compress: 'none', rsync_flags: '-az', file: '/etc/s.ini' }, n), 'none');
  assert.deepEqual(notices, []);
  assert.equal(chooseCompress({ rsync_flags: '-az', file: '/etc/s.ini' }, n), 'zstd');
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /rsync_flags '-az' in \/etc\/s\.ini: -B compresses with zstd .*set compress in \/etc\/s\.ini/);
  assert.equal(chooseCompress({ file: '/etc/s.ini' }, n), 'none');
});

test('the sender starts when it can save bytes: with compression, or with a local copy to compare', () => {
  assert.equal(senderPlan('cmd_standby', 'none', false), undefined, 'a first -B without compress: SFTP as before');
  assert.deepEqual(senderPlan('/usr/bin/node "/opt/pitr tools/cmd_standby.js"', 'none', true), {
    argv: ['/usr/bin/node', '/opt/pitr tools/cmd_standby.js', '--send-files'],
    compress: 'none',
    always: false,
  });
  assert.equal(senderPlan('cmd_standby', 'lz4', false)?.always, true);
});

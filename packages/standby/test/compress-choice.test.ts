import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseCompress, senderPlan } from '../src/basebackup/compress-choice.js';

test('-B uses compress as loaded (an rsync_flags -z is already compress: zstd there), none when unset', () => {
  assert.equal(chooseCompress({ compress: 'zstd:3' }), 'zstd:3');
  assert.equal(chooseCompress({ compress: 'zstd:1' }), 'zstd');
  assert.equal(chooseCompress({ compress: 'lz4' }), 'lz4');
  assert.equal(chooseCompress({}), 'none');
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

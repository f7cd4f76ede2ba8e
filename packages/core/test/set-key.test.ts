import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setDefaultKey } from '../src/config/set-key.js';

test('state is replaced where it is, added after [DEFAULT] or at the top; nothing else changes', () => {
  const has = '# mine\n[DEFAULT]\npgdata: /d\nstate : online ; comment\nslaves: a\n\n[a]\nuser: x\n';
  assert.equal(setDefaultKey(has, 'f.ini', 'state', 'offline'), '# mine\n[DEFAULT]\npgdata: /d\nstate: offline\nslaves: a\n\n[a]\nuser: x\n');
  const without = '; top\n[DEFAULT]\npgdata: /d\n[a]\nstate: online\n';
  assert.equal(setDefaultKey(without, 'f.ini', 'state', 'offline'), '; top\n[DEFAULT]\nstate: offline\npgdata: /d\n[a]\nstate: online\n');
  assert.equal(setDefaultKey('pgdata: /d\n', 'f.ini', 'state', 'offline'), 'state: offline\npgdata: /d\n');
  assert.equal(setDefaultKey('[DEFAULT]\nstate: online\nstate: offline\n', 'f.ini', 'state', 'online'), '[DEFAULT]\nstate: online\nstate: online\n');
  assert.equal(setDefaultKey('[DEFAULT]\nstate:\n  online\nx: 1\n', 'f.ini', 'state', 'offline'), '[DEFAULT]\nstate: offline\nx: 1\n');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setIniKeys } from '../src/config/ini-edit.js';
import { parseIni } from '../src/config/ini.js';

test('setIniKeys replaces DEFAULT keys in place and keeps everything else', () => {
  const text = '# the master\n[DEFAULT]\nmaster_public_ip: 10.0.0.1\nPort = 5432\nuser: postgres\n\n[other]\nport: 1\n';
  const out = setIniKeys(text, { master_public_ip: '10.0.0.2', port: '5433' });
  assert.equal(out, '# the master\n[DEFAULT]\nmaster_public_ip: 10.0.0.2\nPort = 5433\nuser: postgres\n\n[other]\nport: 1\n');
});

test("setIniKeys adds a missing key at the end of DEFAULT, drops a replaced value's continuation lines, refuses line breaks", () => {
  const out = setIniKeys('master_public_ip: a\n  continued\nuser: u\n\n[s]\nx: 1\n', { master_public_ip: 'b', ssh_port: '2222' });
  assert.equal(out, 'master_public_ip: b\nuser: u\nssh_port: 2222\n\n[s]\nx: 1\n');
  const doc = parseIni(out, 'x.ini');
  assert.equal(doc.sections.get('DEFAULT')!.entries.get('ssh_port')!.value, '2222');
  assert.equal(doc.sections.get('s')!.entries.get('ssh_port'), undefined);
  assert.throws(() => setIniKeys('a: 1\n', { a: 'x\ny' }), TypeError);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigCode } from '../src/config/codes.js';
import { DEFAULT_SECTION, parseIni } from '../src/config/ini.js';
import { interpolatedValue, MAX_INTERPOLATION_DEPTH } from '../src/config/interpolate.js';
import { expectConfigError } from './fixtures/config/expect-config-error.js';

const F = '/etc/pitr/i.ini';
const get = (text: string, key: string, section = DEFAULT_SECTION): string | undefined => interpolatedValue(parseIni(text, F), section, key);

describe('%(name)s interpolation', () => {
  it("replaces a reference with the other key's value, recursively", () => {
    const text = 'base: /var/lib/postgresql\nver: 15\npgdata: %(base)s/%(ver)s/main\nlog: %(pgdata)s/log\n';
    assert.equal(get(text, 'pgdata'), '/var/lib/postgresql/15/main');
    assert.equal(get(text, 'log'), '/var/lib/postgresql/15/main/log');
  });

  it('looks names up case-insensitively, like ConfigParser', () => {
    assert.equal(get('pgdata: /d\nlog: %(PGDATA)s/x\n', 'log'), '/d/x');
  });

  it('leaves a value without %( exactly as written, as Python 2 ConfigParser does', () => {
    assert.equal(get('cmd: date +%s\n', 'cmd'), 'date +%s');
    assert.equal(get('cmd: mail -s "disk 90% full"\n', 'cmd'), 'mail -s "disk 90% full"');
    assert.equal(get('cmd: date +%%s\n', 'cmd'), 'date +%%s');
    assert.equal(get('a: plain text\n', 'a'), 'plain text');
    assert.equal(get('a: x\n', 'missing'), undefined);
  });

  it('turns %% into % in a value that interpolates', () => {
    assert.equal(get('n: 90\ncmd: echo %(n)s%% full\n', 'cmd'), 'echo 90% full');
    assert.equal(get('n: 1\na: %(n)s 100%%%%\n', 'a'), '1 100%%');
    assert.equal(get('a: plain text\n', 'a'), 'plain text');
    assert.equal(get('a: x\n', 'missing'), undefined);
  });

  it("reads through a section first, then DEFAULT; a DEFAULT value sees the section's keys", () => {
    const text = '[DEFAULT]\nuser: postgres\nr_archivedir: /srv/%(user)s/archive\n[s2]\nuser: bob\n';
    assert.equal(get(text, 'r_archivedir'), '/srv/postgres/archive');
    assert.equal(get(text, 'r_archivedir', 's2'), '/srv/bob/archive');
  });

  it('allows 10 levels of values that interpolate, plus a plain one at the end (as Python)', () => {
    const lines = ['k0: end'];
    for (let i = 1; i <= MAX_INTERPOLATION_DEPTH; i++) lines.push(`k${i}: %(k${i - 1})s`);
    assert.equal(get(lines.join('\n'), `k${MAX_INTERPOLATION_DEPTH}`), 'end');
  });

  it('rejects an unknown name, naming file, line and key, with a did-you-mean', () => {
    const err = expectConfigError(() => get('pgdata: /d\n\nlog: %(pgdtaa)s/log\n', 'log'), {
      code: ConfigCode.INTERPOLATION,
      file: F,
      line: 3,
      key: 'log',
      message: /%\(pgdtaa\)s names no key/,
    });
    assert.match(err.message, /did you mean 'pgdata'\?/);
  });

  it('names the entry that holds the bad reference when reached through another key', () => {
    const err = expectConfigError(() => get('a: %(b)s\nb: %(nope)s\n', 'a'), {
      code: ConfigCode.INTERPOLATION,
      line: 2,
      key: 'b',
    });
    assert.match(err.message, /reached from key 'a' via a -> b/);
  });

  it('rejects a loop as too deep', () => {
    expectConfigError(() => get('a: %(b)s\nb: %(a)s\n', 'a'), {
      code: ConfigCode.INTERPOLATION,
      message: new RegExp(`more than ${MAX_INTERPOLATION_DEPTH} levels`),
      line: 2,
      key: 'b',
    });
    expectConfigError(() => get('a: x%(a)s\n', 'a'), { code: ConfigCode.INTERPOLATION, line: 1, key: 'a' });
  });

  it('rejects a chain one deeper than the maximum', () => {
    const lines = ['k0: %%'];
    for (let i = 1; i <= MAX_INTERPOLATION_DEPTH; i++) lines.push(`k${i}: %(k${i - 1})s`);
    // k1 (line 2) holds the reference that would open an 11th value needing expansion.
    expectConfigError(() => get(lines.join('\n'), `k${MAX_INTERPOLATION_DEPTH}`), {
      code: ConfigCode.INTERPOLATION,
      line: 2,
      key: 'k1',
      message: /nests more than 10 levels/,
    });
  });

  it('rejects a lone % in a value that interpolates, as Python does, and a malformed reference', () => {
    expectConfigError(() => get('x: 1\ncmd: mail -s "%(x)s: disk 90% full"\n', 'cmd'), {
      code: ConfigCode.INTERPOLATION,
      file: F,
      line: 2,
      key: 'cmd',
      message: /'%' must be followed by '%' or '\('.*write %% for a literal %/,
    });
    expectConfigError(() => get('x: 1\ncmd: %(x)s trailing %\n', 'cmd'), { code: ConfigCode.INTERPOLATION, line: 2, key: 'cmd' });
    expectConfigError(() => get('cmd: %(name)d\nname: 1\n', 'cmd'), {
      code: ConfigCode.INTERPOLATION,
      line: 1,
      key: 'cmd',
      message: /bad interpolation syntax/,
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigCode } from '../src/config/codes.js';
import { DEFAULT_SECTION, parseIni, type IniDocument } from '../src/config/ini.js';
import { expectConfigError } from './fixtures/config/expect-config-error.js';

const F = '/etc/pitr/test.ini';
const value = (doc: IniDocument, key: string, section = DEFAULT_SECTION): string | undefined => doc.sections.get(section)?.entries.get(key)?.value;
const line = (doc: IniDocument, key: string, section = DEFAULT_SECTION): number | undefined => doc.sections.get(section)?.entries.get(key)?.line;

describe('ini parser', () => {
  it('reads `key: value` and `key = value`, splitting at the first : or =', () => {
    const doc = parseIni('[DEFAULT]\na: 1\nb = 2\nc: x=y\nd = http://h:80/\ne=f:g\n', F);
    assert.equal(value(doc, 'a'), '1');
    assert.equal(value(doc, 'b'), '2');
    assert.equal(value(doc, 'c'), 'x=y');
    assert.equal(value(doc, 'd'), 'http://h:80/');
    assert.equal(value(doc, 'e'), 'f:g');
  });

  it('lower-cases keys and strips blanks around keys and values', () => {
    const doc = parseIni('[DEFAULT]\nPGDATA   :   /data   \nSsh_Timeout=10\t\n', F);
    assert.equal(value(doc, 'pgdata'), '/data');
    assert.equal(value(doc, 'ssh_timeout'), '10');
    assert.equal(value(doc, 'PGDATA'), undefined);
  });

  it('allows an empty value, and "" means empty as in Python 2', () => {
    const doc = parseIni('a:\nb =\nc: ""\n', F);
    assert.equal(value(doc, 'a'), '');
    assert.equal(value(doc, 'b'), '');
    assert.equal(value(doc, 'c'), '');
  });

  it('puts keys before any section into DEFAULT and merges a later [DEFAULT]', () => {
    const doc = parseIni('a: 1\n[DEFAULT]\nb: 2\n', F);
    assert.equal(value(doc, 'a'), '1');
    assert.equal(value(doc, 'b'), '2');
    assert.equal(doc.sections.get(DEFAULT_SECTION)?.line, 2, 'the header line, though keys came first');
    assert.equal(parseIni('a: 1\n', F).sections.get(DEFAULT_SECTION)?.line, undefined);
    assert.deepEqual([...doc.sections.keys()], [DEFAULT_SECTION]);
  });

  it('keeps other sections apart and records their header line', () => {
    const doc = parseIni('[DEFAULT]\nuser: a\n\n[standby2:2222]\nuser: b\n[standby2:2222]\nssh_port: 2\n', F);
    assert.equal(value(doc, 'user'), 'a');
    assert.equal(value(doc, 'user', 'standby2:2222'), 'b');
    assert.equal(value(doc, 'ssh_port', 'standby2:2222'), '2', 'repeated headers merge');
    assert.equal(doc.sections.get('standby2:2222')?.line, 4);
    assert.equal(doc.sections.get(DEFAULT_SECTION)?.line, 1);
  });

  it('accepts a comment after a section header', () => {
    const doc = parseIni('[DEFAULT] ; main\na: 1\n', F);
    assert.equal(value(doc, 'a'), '1');
  });

  it('skips ; and # comment lines (also indented) and blank lines, and counts lines', () => {
    const doc = parseIni('; one\n# two\n   ; three\n\t# four\n\n   \na: 1\n', F);
    assert.equal(value(doc, 'a'), '1');
    assert.equal(line(doc, 'a'), 7);
    assert.equal(doc.sections.get(DEFAULT_SECTION)?.entries.size, 1);
  });

  it('ends a value at a ; preceded by a blank, but not at # or at a ; inside a word', () => {
    const doc = parseIni('a: on ; was off\nb: x;y\nc: x # not a comment\nd:\tv\t;tab\ne: ; only a comment\n', F);
    assert.equal(value(doc, 'a'), 'on');
    assert.equal(value(doc, 'b'), 'x;y');
    assert.equal(value(doc, 'c'), 'x # not a comment');
    assert.equal(value(doc, 'd'), 'v');
    assert.equal(value(doc, 'e'), '');
  });

  it('joins continuation lines with \\n and keeps the line of the key', () => {
    const doc = parseIni('[DEFAULT]\nslaves: a,\n   b,\n\n\tc\nnext: 1\n', F);
    assert.equal(value(doc, 'slaves'), 'a,\nb,\nc');
    assert.equal(line(doc, 'slaves'), 2);
    assert.equal(value(doc, 'next'), '1');
    assert.equal(line(doc, 'next'), 6);
  });

  it('reads a file indented as a whole (the how-to archiver block): same indent is a new key', () => {
    const doc = parseIni('    [DEFAULT]\n    ; c\n    state: online   \n    pgdata: /d\n      more\n', F);
    assert.equal(value(doc, 'state'), 'online');
    assert.equal(value(doc, 'pgdata'), '/d\nmore');
    assert.equal(doc.sections.get(DEFAULT_SECTION)?.line, 1);
  });

  it('accepts CRLF, a lone CR and a UTF-8 BOM', () => {
    const doc = parseIni('\uFEFF[DEFAULT]\r\na: 1\r\nb: 2\rc: 3\r\n', F);
    assert.equal(value(doc, 'a'), '1');
    assert.equal(value(doc, 'b'), '2');
    assert.equal(value(doc, 'c'), '3');
    assert.equal(line(doc, 'c'), 4);
    assert.equal(doc.sections.get(DEFAULT_SECTION)?.line, 1, 'the BOM does not hide the header');
  });

  it('lets the later of two equal keys win and records both lines', () => {
    const doc = parseIni('[DEFAULT]\nuser: a\nx: 1\nUSER: b\n[s]\nuser: c\nuser: d\n', F);
    assert.equal(value(doc, 'user'), 'b');
    assert.equal(line(doc, 'user'), 4);
    assert.deepEqual(doc.duplicates, [
      { section: DEFAULT_SECTION, key: 'user', firstLine: 2, line: 4 },
      { section: 's', key: 'user', firstLine: 6, line: 7 },
    ]);
  });

  it('rejects a line that is neither section, key, comment nor blank, naming file and line', () => {
    expectConfigError(() => parseIni('[DEFAULT]\na: 1\njust some words\n', F), {
      code: ConfigCode.SYNTAX,
      file: F,
      line: 3,
      key: undefined,
      message: /just some words/,
    });
    expectConfigError(() => parseIni('[DEFAULT\n', F), { code: ConfigCode.SYNTAX, file: F, line: 1 });
    expectConfigError(() => parseIni(': no key\n', F), { code: ConfigCode.SYNTAX, file: F, line: 1 });
    expectConfigError(() => parseIni('a: 1\n[DEFAULT] junk\n', F), { code: ConfigCode.SYNTAX, file: F, line: 2 });
  });

  it('rejects an indented line that has nothing to continue', () => {
    expectConfigError(() => parseIni('\n   stray words\n', F), { code: ConfigCode.SYNTAX, line: 2 });
  });
});

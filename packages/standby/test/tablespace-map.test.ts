/**
 * tablespace_map rewriting for tablespace_mapping, on the bytes PostgreSQL 14-18's
 * pg_backup_stop returns (captured from real servers): locations with a backslash or a newline
 * are escaped there, and must be read, matched and written back the way PostgreSQL reads them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeMapLocation, parseMappings, readTablespaceMap, rewriteTablespaceMap } from '../src/basebackup/tablespaces.js';

// What pg_backup_stop returned for two tablespaces at /m/ts\back and at "/m/ts<newline>nl".
const FROM_POSTGRES = '16384 /m/ts\\\\back\n16385 /m/ts\\\nnl\n';

describe('rewriteTablespaceMap', () => {
  it('leaves the text byte for byte without mappings, or when nothing matches', () => {
    assert.equal(rewriteTablespaceMap(FROM_POSTGRES, []), FROM_POSTGRES);
    assert.equal(rewriteTablespaceMap(FROM_POSTGRES, parseMappings(['/other=/x'])), FROM_POSTGRES);
    // The escaped form is not the location: "/m/ts\\back" must not match by its raw bytes.
    assert.equal(rewriteTablespaceMap(FROM_POSTGRES, parseMappings(['/m/ts\\\\\\\\back=/x'])), FROM_POSTGRES);
  });

  it('matches a location with a backslash by its real name and keeps the other entry as it was', () => {
    const out = rewriteTablespaceMap(FROM_POSTGRES, parseMappings(['/m/ts\\back=/s/one']));
    assert.equal(out, '16384 /s/one\n16385 /m/ts\\\nnl\n');
  });

  it('matches a location with a newline (escaped in the file) and does not split it into two entries', () => {
    const out = rewriteTablespaceMap('16385 /m/ts\\\nnl\n16386 /m/plain\n', [{ olddir: '/m/ts\nnl', newdir: '/s/two' }]);
    assert.equal(out, '16385 /s/two\n16386 /m/plain\n');
  });

  it('escapes a new location that needs it, so PostgreSQL reads back exactly that path', () => {
    const out = rewriteTablespaceMap('16384 /m/a\n', [{ olddir: '/m/a', newdir: '/s/b\\c\nd' }]);
    assert.equal(out, '16384 /s/b\\\\c\\\nd\n');
    assert.equal(escapeMapLocation('/p\r\\q'), '/p\\\r\\\\q');
  });

  it('keeps CRLF line ends and a last entry without a newline', () => {
    assert.equal(rewriteTablespaceMap('1 /a\r\n2 /b', [{ olddir: '/b', newdir: '/c' }]), '1 /a\r\n2 /c');
  });
});

describe('readTablespaceMap', () => {
  it('reads each OID with its real location (escapes undone, an escaped newline inside the location)', () => {
    assert.deepEqual(readTablespaceMap(FROM_POSTGRES), [
      { oid: '16384', location: '/m/ts\\back' },
      { oid: '16385', location: '/m/ts\nnl' },
    ]);
    assert.deepEqual(readTablespaceMap(''), []);
  });
});

/** The error-code registry decides every PitrError's exit code (core/error-codes.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERRORS, ExitCode, PitrError, exitCodeOf, isErrorCode, levelOf, type ErrorCodeName } from '../src/errors.js';
import { ConfigCode } from '../src/config/codes.js';
import { SshErrorCode } from '../src/ssh/errors.js';

describe('error-code registry', () => {
  it('every entry names an exit code and says its meaning in one line', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      assert.ok(e.exit in ExitCode, `${code}: exit ${e.exit}`);
      assert.match(code, /^[A-Z][A-Z0-9_]+$/);
      assert.ok(e.meaning.length > 10 && !e.meaning.includes('\n'), code);
    }
  });

  it('the configuration and SSH layers only use registered codes', () => {
    for (const c of [...Object.values(ConfigCode), ...Object.values(SshErrorCode)]) assert.ok(isErrorCode(c), c);
  });

  it('a PitrError exits as the registry says, whoever throws it', () => {
    const cases: Array<[ErrorCodeName, number]> = [
      ['USAGE', 2],
      ['ARCHIVE_CONFLICT', 4],
      ['ARCHIVING_OFFLINE', 3],
      ['ARCHIVE_FAILED', 1],
      ['CONFIG_BAD_VALUE', 2],
      ['SSH_TIMEOUT', 1],
    ];
    for (const [code, exit] of cases) {
      assert.equal(new PitrError(code, 'm').exitCode, exit, code);
      assert.equal(exitCodeOf(code), exit);
    }
    assert.equal(levelOf('ARCHIVING_OFFLINE'), 'WARNING');
    assert.equal(levelOf('ARCHIVE_CONFLICT'), 'ERROR');
    assert.equal(isErrorCode('ENOENT'), false);
    assert.equal(isErrorCode('toString'), false);
  });
});

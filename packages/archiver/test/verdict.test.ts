/** The one mapping from -F's per-slave outcomes to what every path reports (archive/verdict.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode } from '@pitrtools/core/errors';
import type { SlaveOutcome } from '../src/archive/outcome.js';
import { offlineVerdict, verdictError, verdictFor } from '../src/archive/verdict.js';

const seg = '000000010000000000000007';
const of = (...o: SlaveOutcome[]): Map<string, SlaveOutcome> => new Map(o.map((x, i) => [`s${i}`, x]));

describe('verdict', () => {
  it('archived only when every slave is safe (delivered, queued, detached, dropped)', () => {
    assert.deepEqual(
      verdictFor(
        seg,
        of({ kind: 'delivered', status: 'created' }, { kind: 'queued', reason: 'down' }, { kind: 'detached', delivered: false }, { kind: 'dropped' }),
      ),
      { kind: 'archived' },
    );
  });

  it('a conflict wins over a failure; the detail names every slave that is not safe, on one line', () => {
    const v = verdictFor(seg, of({ kind: 'failed', reason: 'disk\nfull' }, { kind: 'conflict', where: 'slave' }, { kind: 'delivered', status: 'identical' }));
    assert.equal(v.kind, 'conflict');
    assert.ok(v.kind === 'conflict' && !/\n/.test(v.detail) && /s0: FAILED: disk full/.test(v.detail) && /s1: CONFLICT/.test(v.detail), JSON.stringify(v));
  });

  it('each verdict is one error: code, exit code, words and hint', () => {
    const c = verdictError({ kind: 'conflict', segment: seg, detail: 's1: CONFLICT' });
    assert.deepEqual([c.code, c.exitCode, c.message], ['ARCHIVE_CONFLICT', ExitCode.CONFLICT, `${seg} is NOT archived: s1: CONFLICT`]);
    assert.match(c.hint ?? '', /retries.*nothing was overwritten/);
    const f = verdictError({ kind: 'failed', segment: seg, detail: 's0: FAILED: x' });
    assert.deepEqual([f.code, f.exitCode], ['ARCHIVE_FAILED', ExitCode.FAILED]);
    const o = verdictError(offlineVerdict(seg, '/etc/a.ini'));
    assert.deepEqual([o.code, o.exitCode, o.message], ['ARCHIVING_OFFLINE', ExitCode.OFFLINE, `not archiving ${seg}: state is offline in /etc/a.ini`]);
    assert.match(o.hint ?? '', /state: online/);
  });
});

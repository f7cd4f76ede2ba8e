/** The one Nagios output shape of both programs (core/nagios.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nagiosJson, nagiosResult, nagiosText, worseState } from '../src/nagios.js';

describe('nagios', () => {
  it('the plugin line: SERVICE STATE - summary | perfdata, then the details; | and line breaks in text cannot end it', () => {
    const r = nagiosResult('PITR_STANDBY', 'WARNING', 'lag 5 | 6\nMB', ["'lag'=5B;1;2;0", "'x'=1;;;0"], ['detail | one']);
    assert.equal(r.code, 1);
    assert.equal(nagiosText(r), "PITR_STANDBY WARNING - lag 5 / 6 MB | 'lag'=5B;1;2;0 'x'=1;;;0\ndetail / one");
    assert.equal(nagiosText(nagiosResult('PITR_ARCHIVER', 'UNKNOWN', 'no ini')), 'PITR_ARCHIVER UNKNOWN - no ini');
  });
  it('--json: the same keys for both programs, first, and facts never override them', () => {
    const r = nagiosResult('PITR_ARCHIVER', 'CRITICAL', 's', ["'a'=1;;;0"]);
    const j = nagiosJson(r, { state: 'OK', slaves: [] });
    assert.deepEqual(Object.keys(j).slice(0, 6), ['service', 'state', 'code', 'summary', 'perfdata', 'details']);
    assert.deepEqual([j.state, j.code, j.slaves], ['CRITICAL', 2, []]);
  });
  it('UNKNOWN ranks above CRITICAL, as the exit codes do', () => {
    assert.equal(worseState('CRITICAL', 'UNKNOWN'), 'UNKNOWN');
    assert.equal(worseState('WARNING', 'OK'), 'WARNING');
  });
});

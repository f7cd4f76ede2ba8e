/** Does the local server archive with this ini (pg/archiving-verdict.ts): the ini in archive_command, and the verdict. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { archiveCommandIni, judgeArchiving, type ArchivingFacts } from '../src/pg/archiving-verdict.js';

const ours: ArchivingFacts = {
  inRecovery: false,
  archiveMode: 'on',
  archiveLibrary: '',
  archiveCommand: '/x/cmd_archiver -C /e/a.ini -F %p',
  commandIsOurs: true,
};

describe('archiveCommandIni', () => {
  it('finds -C of cmd_archiver with -F, however it is written', () => {
    assert.equal(archiveCommandIni('/usr/bin/cmd_archiver -C /etc/a.ini -F %p'), '/etc/a.ini');
    assert.equal(archiveCommandIni("'/opt/my dir/cmd_archiver' -C '/etc/it''s.ini' -F %p"), '/etc/its.ini');
    assert.equal(archiveCommandIni("/o/cmd_archiver -C '/etc/a b.ini' -F %p"), '/etc/a b.ini');
    assert.equal(archiveCommandIni('node /o/cmd_archiver.js --config=a.ini --file %p'), 'a.ini');
    assert.equal(archiveCommandIni('test -f x && cmd_archiver -C"/e/x.ini" -F %p'), '/e/x.ini');
    assert.equal(archiveCommandIni('cmd_archiver --config /e/%%a.ini -F %p'), '/e/%a.ini');
  });
  it('nothing when no cmd_archiver archives', () => {
    assert.equal(archiveCommandIni(''), undefined);
    assert.equal(archiveCommandIni('cp %p /archive/%f'), undefined);
    assert.equal(archiveCommandIni('cmd_archiver -C /e/a.ini --check'), undefined);
    assert.equal(archiveCommandIni('cmd_archiver -C /e/a.ini ; cp %p -F'), undefined);
    assert.equal(archiveCommandIni('/x/not_cmd_archiver -C /e/a.ini -F %p'), undefined);
  });
});

describe('judgeArchiving', () => {
  const j = (f: Partial<ArchivingFacts>) => judgeArchiving({ ...ours, ...f }, '/e/a.ini', '--status');
  it('cmd_archiver with this ini on a primary, or on a standby with archive_mode = always: no problem', () => {
    assert.deepEqual(j({}), { archiving: 'cmd_archiver' });
    assert.deepEqual(j({ inRecovery: true, archiveMode: 'always' }), { archiving: 'cmd_archiver' });
  });
  it('each way of archiving nothing with this ini, with the fix', () => {
    assert.match(j({ inRecovery: true }).problem!, /in recovery \(a standby\).*cmd_archiver --status belongs on the master/);
    assert.equal(j({ inRecovery: true, archiveMode: 'off' }).archiving, 'in-recovery');
    assert.equal(j({ inRecovery: true, archiveMode: 'always', archiveCommand: '' }).archiving, 'empty');
    assert.match(j({ archiveMode: 'off', archiveCommand: '(disabled)' }).problem!, /archive_mode is off.*--setup, then restart/);
    assert.match(j({ archiveLibrary: 'basic_archive' }).problem!, /archive_library is 'basic_archive'/);
    assert.match(j({ archiveCommand: '' }).problem!, /^archive_command is empty: nothing is archived \(run cmd_archiver -C \/e\/a\.ini --setup\)$/);
    const other = j({ archiveCommand: 'cp %p /x/%f', commandIsOurs: false });
    assert.equal(other.archiving, 'other');
    assert.match(other.problem!, /'cp %p \/x\/%f' does not run cmd_archiver -C \/e\/a\.ini -F %p/);
    for (const v of [j({ inRecovery: true }), j({ archiveCommand: '' }), other]) assert.ok(!v.problem!.includes(';'), v.problem);
  });
});

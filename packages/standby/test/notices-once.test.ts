/**
 * recovery_conf (no effect since PostgreSQL 12) is a WARNING once, at -I, and a debug line on every
 * other command; it used to be a WARNING on each run (issue 16 part 8).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { loadConfig } from '@pitrtools/core/config/index';
import { memoryLogger } from '@pitrtools/core/log';
import { showNotices } from '../src/command-context.js';

const dir = mkdtempSync(join(tmpdir(), 'pitr-notices-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('recovery_conf: WARNING at -I only, debug otherwise', () => {
  const ini = join(dir, 'cmd_standby.ini');
  writeFileSync(ini, `[DEFAULT]\nmaster_public_ip: db1\nuser: postgres\npgdata: ${dir}/data\narchivedir: ${dir}/archive\nrecovery_conf: /x/recovery.conf\n`);
  const { notices } = loadConfig(ini, 'standby');
  const levels = (setup: boolean): string[] => {
    const log = memoryLogger(true);
    showNotices(notices, log, setup);
    return log.messages.filter(([, m]) => m.includes('recovery_conf')).map(([l]) => l);
  };
  assert.deepEqual(levels(true), ['WARNING']);
  assert.deepEqual(levels(false), ['DEBUG']);
});

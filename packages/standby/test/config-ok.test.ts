/**
 * `cmd_standby -C ini` with no action says "Config OK" only once every check of the ini passed,
 * including what loading alone does not check (a key file named in ssh_identity): the real
 * program, run as a child.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';

const BIN = new URL('../bin/cmd_standby.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pitr-config-ok-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(extra: string): { code: number | null; stdout: string; stderr: string } {
  const ini = join(dir, 'cmd_standby.ini');
  writeFileSync(ini, `[DEFAULT]\nmaster_public_ip: db1\nuser: postgres\npgdata: ${dir}/data\narchivedir: ${dir}/archive\n${extra}`);
  const r = spawnSync(process.execPath, [BIN, '-C', ini], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

it('a named ssh_identity that is not there: exit 2 naming file, line and key, and no "Config OK"', () => {
  const bad = run('ssh_identity: /nonexistent/id_ed25519\n');
  assert.equal(bad.code, 2, bad.stderr);
  assert.doesNotMatch(bad.stdout, /Config OK/);
  assert.match(bad.stderr, /cmd_standby\.ini:6: key 'ssh_identity': key file \/nonexistent\/id_ed25519 does not exist/);
  const good = run('');
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /^Config OK \(/);
});

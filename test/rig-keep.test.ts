// pitr-test: once
/**
 * demo --keep: detachAll() leaves the servers running and keeps the temp dirs they run in (sshd's
 * config, keys and known_hosts), past the process's exit; without it the rig's exit hook removes
 * every temp dir. Each case is a real child process that ends.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';

const tmpTs = new URL('./rig/tmp.ts', import.meta.url).href;
const cleanupTs = new URL('./rig/cleanup.ts', import.meta.url).href;

/** Runs a child that makes a temp dir (and detaches everything or not), exits; returns the dir. */
function childDir(detach: boolean): string {
  const code = [
    `import { makeTempDir } from ${JSON.stringify(tmpTs)};`,
    `import { detachAll, onCleanup } from ${JSON.stringify(cleanupTs)};`,
    `const d = makeTempDir('pitr-keep-test-');`,
    `onCleanup('a server', () => undefined);`,
    detach ? 'detachAll();' : '',
    'console.log(d.path);',
  ].join('\n');
  const env = { ...process.env };
  delete env.PITR_TEST_KEEP;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const dir = r.stdout.trim();
  assert.match(dir, /pitr-keep-test-/);
  return dir;
}

test('detachAll keeps the temp dirs past exit (demo --keep); without it the exit hook removes them', () => {
  const kept = childDir(true);
  try {
    assert.ok(existsSync(kept), `${kept} kept after detachAll`);
  } finally {
    rmSync(kept, { recursive: true, force: true });
  }
  const gone = childDir(false);
  assert.ok(!existsSync(gone), `${gone} removed at exit`);
});

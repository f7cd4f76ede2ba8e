/**
 * pgBackRest archive-push with its repository on a "remote" host reached over ssh (the loopback
 * sshd), lz4 compression; sync, and async with process-max=2 (the strongest peer). Each run gets
 * its own repository, stanza (created against the run's cluster, before the clock starts), spool,
 * log and lock directories; pgBackRest's ssh goes through the per-run ssh wrapper.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../packages/core/src/proc.js';
import type { SshdHandle } from '../test/rig/sshd.js';
import { must, shq } from './exec.js';
import type { SshClient } from './ssh-client.js';
import type { WalMethod, WalRunContext } from './wal-method.js';

const STANZA = 'bench';

function ini(sections: Record<string, Record<string, string | number>>): string {
  return Object.entries(sections)
    .map(
      ([name, kv]) =>
        `[${name}]\n${Object.entries(kv)
          .map(([k, v]) => `${k}=${v}\n`)
          .join('')}`,
    )
    .join('\n');
}

/** Writes the database-side and repository-side configs; returns the database side's path. */
function writeConfigs(ctx: WalRunContext, sshd: SshdHandle, ssh: SshClient, async: boolean, compress: Compress): { conf: string; repo: string } {
  const d = (n: string): string => {
    const p = join(ctx.dir, n);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const repo = d('pgbackrest-repo');
  const repoConf = join(ctx.dir, 'pgbackrest-repo.conf');
  writeFileSync(repoConf, ini({ global: { 'repo1-path': repo, 'log-path': d('pgbackrest-log-repo'), 'lock-path': d('pgbackrest-lock-repo') } }));
  const conf = join(ctx.dir, 'pgbackrest.conf');
  writeFileSync(
    conf,
    ini({
      global: {
        'repo1-host': sshd.host,
        'repo1-host-port': sshd.port,
        'repo1-host-user': sshd.user,
        'repo1-host-config': repoConf,
        'cmd-ssh': ssh.wrapper,
        'compress-type': compress,
        'log-path': d('pgbackrest-log'),
        'lock-path': d('pgbackrest-lock'),
        ...(async ? { 'archive-async': 'y', 'spool-path': d('pgbackrest-spool'), 'process-max': 2 } : {}),
      },
      [STANZA]: { 'pg1-path': ctx.cluster.pgdata, 'pg1-port': ctx.cluster.port, 'pg1-socket-path': ctx.cluster.socketDir },
    }),
  );
  return { conf, repo };
}

/** pgBackRest's compress-type values the bench uses (`zst` is its name for zstd). */
export type Compress = 'lz4' | 'zst';

/** sha256 of what `lz4 -dc file` (or `zstd -dc` for .zst) prints. */
function lz4Sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const p = spawn(file.endsWith('.zst') ? 'zstd' : 'lz4', ['-dc', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    p.stdout.on('data', (d: Buffer) => h.update(d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(h.digest('hex')) : reject(new Error(`lz4 -dc ${file}: exit ${code}`))));
  });
}

/** Checks every segment is in the repository (archive/<stanza>/<id>/<16 hex>/<seg>-<sha1>.lz4) with the source's content. */
async function verifyRepo(repo: string, segments: string[], sha256: Map<string, string>): Promise<string[]> {
  const archive = join(repo, 'archive', STANZA);
  const files = new Map<string, string>();
  for (const id of readdirSync(archive, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const sub of readdirSync(join(archive, id.name), { withFileTypes: true }).filter((e) => e.isDirectory())) {
      for (const f of readdirSync(join(archive, id.name, sub.name))) files.set(f.slice(0, 24), join(archive, id.name, sub.name, f));
    }
  }
  let missing = 0;
  let differ = 0;
  for (const s of segments) {
    const f = files.get(s);
    if (!f) missing++;
    else if ((await lz4Sha256(f)) !== sha256.get(s)) differ++;
  }
  const problems: string[] = [];
  if (missing) problems.push(`${missing}/${segments.length} segments missing in the pgBackRest repository`);
  if (differ) problems.push(`${differ}/${segments.length} segments differ from the source in the pgBackRest repository`);
  return problems;
}

/** pgbackrest archive-push, sync or async (archive-async=y, process-max=2); lz4 unless `compress` says zst. */
export function pgbackrestMethod(async: boolean, sshd: () => SshdHandle, ssh: () => SshClient, compress: Compress = 'lz4'): WalMethod {
  const tag = compress === 'lz4' ? '' : `-${compress}`;
  return {
    id: `${async ? 'pgbackrest-async' : 'pgbackrest-sync'}${tag}`,
    label: `${async ? 'pgbackrest archive-push async, process-max=2' : 'pgbackrest archive-push sync'}${compress === 'lz4' ? '' : `, compress-type=${compress}`}`,
    async unavailable() {
      for (const tool of [
        ['pgbackrest', 'version'],
        [compress === 'zst' ? 'zstd' : 'lz4', '--version'],
      ]) {
        const r = await runProcess(tool, { timeoutMs: 10_000 });
        if (r.spawnError || r.code !== 0) return `${tool[0]} is not installed (apt-get install pgbackrest lz4)`;
      }
      return undefined;
    },
    async prepare(ctx) {
      const { conf, repo } = writeConfigs(ctx, sshd(), ssh(), async, compress);
      await must(['pgbackrest', `--config=${conf}`, `--stanza=${STANZA}`, '--log-level-console=warn', 'stanza-create']);
      return {
        archiveCommand: `pgbackrest --config=${shq(conf)} --stanza=${STANZA} archive-push %p`,
        verify: (segments, sha) => verifyRepo(repo, segments, sha),
      };
    },
  };
}

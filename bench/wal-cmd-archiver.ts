/**
 * Our cmd_archiver as archive_command, shipping to 1 or 3 slaves (each a loopback sshd with its
 * own r_archivedir, key and known_hosts in a per-slave section). Durable on every slave before
 * exit 0 is its promise, so a segment left only in the local queue counts as not delivered.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SshdHandle } from '../test/rig/sshd.js';
import { must, shellLine } from './exec.js';
import { cmdArchiverBin, cmdStandbyBin, unavailableReason } from './ours.js';
import { queuePeakRssKiB } from './queue-log.js';
import { rssPrefix, verifyPlainDir, type WalMethod } from './wal-method.js';

/**
 * cmd_archiver -C INI -F %p with `count` slaves (the first `count` of `slaves()`); `compress` other
 * than 'none' is written into the ini as `compress: X` (issue 14), 'none' writes no key at all.
 */
export function cmdArchiverMethod(count: number, slaves: () => SshdHandle[], compress = 'none'): WalMethod {
  const tag = compress === 'none' ? '' : `, compress ${compress}`;
  return {
    id: `cmd_archiver-${count}${compress === 'none' ? '' : `-${compress}`}`,
    label: `cmd_archiver, ${count} slave${count > 1 ? 's' : ''}${tag}`,
    unavailable: () => unavailableReason(cmdArchiverBin),
    async prepare(ctx) {
      const used = slaves().slice(0, count);
      if (used.length < count) throw new Error(`cmd_archiver-${count}: only ${used.length} sshd running`);
      const dests = used.map((_, i) => join(ctx.dir, `slave${i + 1}-archive`));
      for (const d of dests) mkdirSync(d);
      const names = used.map((s) => `${s.host}:${s.port}`);
      const lines = [
        '[DEFAULT]',
        `pgdata: ${ctx.cluster.pgdata}`,
        `l_archivedir: ${join(ctx.dir, 'queue')}`,
        `r_archivedir: ${dests[0]}`,
        `slaves: ${names.join(', ')}`,
        `user: ${used[0]!.user}`,
        // The WAL receiver on the slave (compress) is this checkout's cmd_standby.
        ...(compress === 'none' ? [] : [`compress: ${compress}`, `slave_cmd_standby: ${cmdStandbyBin}`]),
        ...used.flatMap((s, i) => ['', `[${names[i]}]`, `r_archivedir: ${dests[i]}`, `ssh_identity: ${s.clientKey}`, `ssh_known_hosts: ${s.knownHostsFile}`]),
        '',
      ];
      const ini = join(ctx.dir, 'cmd_archiver.ini');
      writeFileSync(ini, lines.join('\n'));
      await must([process.execPath, cmdArchiverBin, '-C', ini, '-I'], { cwd: ctx.dir });
      // What -I prints: the sh front end itself (it starts Node.js only when it must).
      const frontEnd = join(dirname(cmdArchiverBin), 'cmd_archiver');
      return {
        archiveCommand: `${rssPrefix(ctx)}${shellLine([frontEnd, '-C', ini, '-F'])} %p`,
        async verify(segments, sha) {
          const problems: string[] = [];
          for (const [i, d] of dests.entries()) problems.push(...(await verifyPlainDir(d, segments, sha, `slave ${i + 1}'s r_archivedir`)));
          return problems;
        },
        helperRssKiB: () => queuePeakRssKiB(join(ctx.dir, 'queue', 'cmd_queue.log')),
      };
    },
  };
}

/**
 * Scenario (c) of part (wan): base backups over the 100 Mbit/s link, pulled by the standby host
 * (every copying program runs in pitrb-s) from a pgbench master in pitrb-m: pg_basebackup plain
 * and --compress=server-zstd (PostgreSQL 15 here: the only pg_basebackup), rsync -az in backup
 * mode, our -B; then `pgbench -t` on the master and a re-sync by rsync -az and by -B again into
 * the copies they made. "Changed" = 8 KiB blocks of the master's relation files that differ from
 * rsync's first copy, plus bytes the files grew (counted, not estimated from WAL).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type SshdHandle } from '../test/rig/sshd.js';
import { makeTempDir } from '../test/rig/tmp.js';
import { describeMaster, makeBaseMaster, type BaseMaster } from './base-master.js';
import { rsyncInBackupMode } from './base-methods.js';
import { checkCopy } from './copy-check.js';
import { must, now } from './exec.js';
import { cmdStandbyBin, unavailableReason } from './ours.js';
import { maxRssKiB, timeArgv } from './rss.js';
import { sshClientFor } from './ssh-client.js';
import { pgbench } from './wal-template.js';
import type { WanRow } from './wan-wal.js';
import { inStandby, startRelay, throughRelay, wireBytes, type Relay, type WanLink } from './wan-link.js';

/** Bytes of relation files that differ between `master` and `copy` (per 8 KiB block, growth counted). */
export function changedBytes(master: BaseMaster, copy: string): number {
  const a = Buffer.allocUnsafe(1 << 20);
  const b = Buffer.allocUnsafe(1 << 20);
  let changed = 0;
  for (const [rel, size] of master.relations) {
    const other = join(copy, rel);
    if (!existsSync(other)) {
      changed += size;
      continue;
    }
    const fa = openSync(join(master.cluster.pgdata, rel), 'r');
    const fb = openSync(other, 'r');
    try {
      for (let off = 0; off < size; off += a.length) {
        const na = readSync(fa, a, 0, a.length, off);
        const nb = readSync(fb, b, 0, b.length, off);
        for (let p = 0; p < na; p += 8192) {
          const end = Math.min(p + 8192, na);
          if (p >= nb || a.compare(b, p, Math.min(end, nb), p, end) !== 0) changed += end - p;
        }
      }
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
  }
  return changed;
}

interface Ctx {
  link: WanLink;
  delayMs: number;
  master: BaseMaster;
  /** Where the standby reaches the master's sshd and PostgreSQL (the link address or a relay). */
  ssh: SshdHandle;
  pgHost: string;
  pgPort: number;
  dir: string;
}

async function timed(ctx: Ctx, method: string, body: () => Promise<{ rssKiB?: number; checked?: string }>, scenario: string): Promise<WanRow> {
  const row: WanRow = { scenario, link: ctx.link.name, delayMs: ctx.delayMs, method };
  const b0 = wireBytes(ctx.link.dev);
  const t0 = now();
  try {
    const r = await body();
    row.seconds = now() - t0;
    if (r.rssKiB !== undefined) row.rssKiB = r.rssKiB;
    if (r.checked) row.checked = r.checked;
  } catch (err) {
    row.problem = err instanceof Error ? err.message : String(err);
  }
  row.wireBytes = wireBytes(ctx.link.dev) - b0;
  return row;
}

async function checked(ctx: Ctx, dest: string): Promise<string> {
  const c = await checkCopy(ctx.master, dest);
  if (c.problems.length) throw new Error(c.problems.join('; '));
  return `${ctx.master.relations.size} relation files, sizes equal`;
}

function pgBasebackup(ctx: Ctx, dest: string, compress: boolean): Promise<{ checked?: string }> {
  const c = ctx.master.cluster;
  return (async () => {
    await must(
      inStandby([
        join(c.bindir, 'pg_basebackup'),
        '-D',
        dest,
        '-X',
        'stream',
        '-c',
        'fast',
        ...(compress ? ['--compress=server-zstd'] : []),
        '-h',
        ctx.pgHost,
        '-p',
        String(ctx.pgPort),
        '-U',
        c.user,
        '-w',
      ]),
    );
    return { checked: await checked(ctx, dest) };
  })();
}

async function rsyncAz(ctx: Ctx, dest: string): Promise<{ checked?: string }> {
  const c = ctx.master.cluster;
  const s = sshClientFor(ctx.ssh, join(ctx.dir));
  mkdirSync(dest, { recursive: true });
  await rsyncInBackupMode({ cluster: c, ssh: s, dest, flags: '-az', wrap: inStandby });
  return { checked: await checked(ctx, dest) };
}

function standbyIni(ctx: Ctx, dest: string, compress: string): string {
  const ini = join(ctx.dir, `cmd_standby-${compress}.ini`);
  const archive = join(ctx.dir, `archive-${compress}`);
  mkdirSync(archive, { recursive: true });
  writeFileSync(
    ini,
    [
      '[DEFAULT]',
      `master_public_ip: ${ctx.ssh.host}`,
      `ssh_port: ${ctx.ssh.port}`,
      `user: ${ctx.ssh.user}`,
      `port: ${ctx.master.cluster.port}`,
      'master_local_ip: 127.0.0.1',
      `pgdata: ${dest}`,
      `archivedir: ${archive}`,
      `ssh_identity: ${ctx.ssh.clientKey}`,
      `ssh_known_hosts: ${ctx.ssh.knownHostsFile}`,
      // The block sender on the master (re-sync, compress) is this checkout's cmd_standby.
      `master_cmd_standby: ${cmdStandbyBin}`,
      ...(compress === 'none' ? [] : [`compress: ${compress}`]),
      '',
    ].join('\n'),
  );
  return ini;
}

async function ourB(ctx: Ctx, ini: string): Promise<{ rssKiB?: number; checked?: string }> {
  const rss = join(ctx.dir, `rss-${Date.now()}`);
  const dest = /pgdata: (.*)/.exec(readFileSync(ini, 'utf8'))![1]!;
  await must(inStandby([...timeArgv(rss), process.execPath, cmdStandbyBin, '-C', ini, '-B']), { cwd: ctx.dir });
  const kib = maxRssKiB(rss);
  return { ...(kib !== undefined ? { rssKiB: kib } : {}), checked: await checked(ctx, dest) };
}

/** Scenario (c) for one delay on `link`; `pgbenchTx` transactions between the copies and the re-syncs. */
export async function baseRows(
  link: WanLink,
  delayMs: number,
  scale: number,
  pgbenchTx: number,
  compress: readonly string[],
  log: (s: string) => void,
): Promise<WanRow[]> {
  const tmp = makeTempDir('pitr-bench-wan-base-');
  const rows: WanRow[] = [];
  const relays: Relay[] = [];
  const master = await makeBaseMaster('wan-base', scale, { listen_addresses: `'127.0.0.1,${link.masterAddr}'` });
  const sshd = await startSshd({ logLevel: 'ERROR', host: link.masterAddr });
  try {
    const c = master.cluster;
    writeFileSync(join(c.pgdata, 'pg_hba.conf'), `host all all 10.214.0.0/24 trust\nhost replication all 10.214.0.0/24 trust\n`, { flag: 'a' });
    await c.query('SELECT pg_reload_conf()');
    let pgHost = link.masterAddr;
    let pgPort = c.port;
    let ssh: SshdHandle = sshd;
    if (delayMs > 0) {
      const rs = await startRelay(link.masterAddr, sshd.port, delayMs, true);
      const rp = await startRelay(link.masterAddr, c.port, delayMs, true);
      relays.push(rs, rp);
      ssh = throughRelay(sshd, rs, tmp.path);
      [pgHost, pgPort] = ['127.0.0.1', rp.port];
    }
    const ctx: Ctx = { link, delayMs, master, ssh, pgHost, pgPort, dir: tmp.path };
    const S = '(c) base backup';
    const step = (r: WanRow): void => {
      rows.push(r);
      log(
        `  ${r.scenario} ${link.name} +${delayMs} ms ${r.method}: ${r.seconds?.toFixed(2) ?? '-'} s, ${((r.wireBytes ?? 0) / 2 ** 20).toFixed(1)} MiB on the wire${r.problem ? `  PROBLEM: ${r.problem}` : ''}`,
      );
    };
    const pgbb = join(tmp.path, 'pgbb');
    // Only Debian's postgresql-15 brings pg_basebackup here (the npm builds of 14-18 are servers only).
    const noPgbb = existsSync(join(c.bindir, 'pg_basebackup'))
      ? undefined
      : `not available: no pg_basebackup for PostgreSQL ${c.major} in ${c.bindir} (only 15 has one here)`;
    for (const [label, z] of [
      ['pg_basebackup -X stream -c fast', false],
      ['pg_basebackup --compress=server-zstd', true],
    ] as const) {
      if (noPgbb) step({ scenario: S, link: link.name, delayMs, method: label, problem: noPgbb, reference: z });
      else step({ ...(await timed(ctx, label, () => pgBasebackup(ctx, pgbb, z), S)), ...(z ? { reference: true } : {}) });
      await must(['rm', '-rf', pgbb]);
    }
    const rs = join(tmp.path, 'rsync');
    step(await timed(ctx, 'rsync -az over ssh (backup mode)', () => rsyncAz(ctx, rs), S));
    const why = await unavailableReason(cmdStandbyBin);
    const inis = new Map<string, string>();
    for (const z of compress) {
      const label = `cmd_standby -B${z === 'none' ? '' : `, compress ${z}`}`;
      if (why) {
        step({ scenario: S, link: link.name, delayMs, method: label, problem: `not available: ${why}` });
        continue;
      }
      const ini = standbyIni(ctx, join(tmp.path, `ours-${z.replace(/\W/g, '_')}`), z);
      try {
        await must(inStandby([process.execPath, cmdStandbyBin, '-C', ini, '-I']), { cwd: tmp.path });
      } catch (err) {
        step({ scenario: S, link: link.name, delayMs, method: label, problem: `-I: ${(err as Error).message}` });
        continue;
      }
      inis.set(label, ini);
      step(await timed(ctx, label, () => ourB(ctx, ini), S));
    }
    // The fixed traffic, then what it changed (against rsync's copy, before either re-sync).
    await pgbench(c, ['-n', '-c', '1', '-t', String(pgbenchTx)]);
    await c.query('CHECKPOINT');
    const after = await describeMaster(c, scale);
    ctx.master = after;
    const changed = existsSync(rs) ? changedBytes(after, rs) : undefined;
    const R = `(c) re-sync after pgbench -t ${pgbenchTx}`;
    if (changed !== undefined)
      rows.push({
        scenario: R,
        link: link.name,
        delayMs,
        method: 'bytes changed (8 KiB blocks of relation files that differ)',
        wireBytes: changed,
        reference: true,
        note: 'counted on disk, not a transfer',
      });
    step(await timed(ctx, 'rsync -az over ssh again', () => rsyncAz(ctx, rs), R));
    for (const [label, ini] of inis) step(await timed(ctx, `${label} again`, () => ourB(ctx, ini), R));
  } finally {
    for (const r of relays) r.stop();
    await sshd.dispose();
    await master.cluster.destroy();
    await tmp.remove();
  }
  return rows;
}

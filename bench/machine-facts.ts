/**
 * The facts a reader needs to judge the numbers: cores, memory, kernel, and the versions of
 * everything compared (PostgreSQL, OpenSSH, rsync, pgBackRest, Node.js) and of our own code.
 */
import { availableParallelism, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../packages/core/src/proc.js';
import { pgBinDir } from '../test/rig/pg-versions.js';

export interface MachineFacts {
  nproc: number;
  memoryGiB: number;
  kernel: string;
  postgres: string;
  openssh: string;
  rsync: string;
  pgbackrest: string;
  node: string;
  /** git HEAD of the checkout measured, "+dirty" when it has uncommitted changes. */
  commit: string;
}

async function firstLine(argv: string[], stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  const r = await runProcess(argv, { timeoutMs: 10_000 });
  if (r.spawnError) return 'not installed';
  return (r[stream] || r.stdout || r.stderr).trim().split('\n')[0] ?? 'unknown';
}

/** Collects the machine facts (never throws: a missing tool reads "not installed"). */
export async function machineFacts(repoRoot: string): Promise<MachineFacts> {
  const git = ['git', '-c', `safe.directory=${repoRoot}`, '-C', repoRoot];
  const head = (await firstLine([...git, 'rev-parse', '--short', 'HEAD'])).slice(0, 12);
  const dirty = (await runProcess([...git, 'status', '--porcelain', '--untracked-files=no'], { timeoutMs: 10_000 })).stdout.trim() !== '';
  return {
    nproc: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    postgres: await firstLine([join(pgBinDir(), 'postgres'), '--version']),
    openssh: await firstLine(['ssh', '-V'], 'stderr'),
    rsync: (await firstLine(['rsync', '--version'])).replace(/\s+protocol.*$/, ''),
    pgbackrest: await firstLine(['pgbackrest', 'version']),
    node: process.version,
    commit: `${head}${dirty ? '+dirty' : ''}`,
  };
}

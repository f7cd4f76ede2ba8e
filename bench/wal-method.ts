/**
 * What an archiving method is to the burst runner: something that, given a fresh cluster and
 * a scratch directory, yields an archive_command and a way to check what arrived.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PgCluster } from '../test/rig/postgres.js';
import { shq } from './exec.js';
import { sha256File } from './files.js';

export interface WalRunContext {
  /** Scratch directory of this run (the cluster's copy lives in it too). */
  dir: string;
  cluster: PgCluster;
  /** When set, wrap the command in /usr/bin/time appending its peak RSS (kB) to this file. */
  rssFile?: string;
}

export interface PreparedWalMethod {
  archiveCommand: string;
  /** Problems with what arrived (missing or different segments); empty when all is there intact. */
  verify(segments: string[], sha256: Map<string, string>): Promise<string[]>;
  /**
   * Peak RSS (kB) of a helper the method leaves running detached (cmd_queue), which
   * /usr/bin/time cannot see; read after the run, when the helper has exited.
   */
  helperRssKiB?(): number | undefined;
}

export interface WalMethod {
  id: string;
  label: string;
  /** Whether the method can run here; a reason when it cannot. */
  unavailable(): Promise<string | undefined>;
  /** Sets up destination and configuration for one run (not timed). */
  prepare(ctx: WalRunContext): Promise<PreparedWalMethod>;
}

/** Checks that `dir/<segment>` exists for each segment and has the template's content. */
export async function verifyPlainDir(dir: string, segments: string[], sha256: Map<string, string>, what = dir): Promise<string[]> {
  const problems: string[] = [];
  let missing = 0;
  let differ = 0;
  for (const s of segments) {
    const p = join(dir, s);
    if (!existsSync(p)) missing++;
    else if ((await sha256File(p)) !== sha256.get(s)) differ++;
  }
  if (missing) problems.push(`${missing}/${segments.length} segments missing in ${what}`);
  if (differ) problems.push(`${differ}/${segments.length} segments differ from the source in ${what}`);
  return problems;
}

/** `/usr/bin/time -f %M -a -o FILE` in front of a command line when an RSS file is asked for. */
export function rssPrefix(ctx: WalRunContext): string {
  return ctx.rssFile ? `/usr/bin/time -f %M -a -o ${shq(ctx.rssFile)} ` : '';
}

/**
 * Is a base backup complete? Every relation file of the master must be in the copy with the
 * same size (the master is idle and checkpointed, so sizes do not move), and pg_control too.
 * A copy that skipped data is reported as failed, never as fast.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BaseMaster } from './base-master.js';
import { notCopied } from './base-master.js';
import { listFiles, totalBytes } from './files.js';

export interface CopyCheck {
  problems: string[];
  files: number;
  bytes: number;
}

/** Compares the copy in `dir` with the master's listing. */
export async function checkCopy(master: BaseMaster, dir: string): Promise<CopyCheck> {
  const copy = await listFiles(dir, notCopied);
  let missing = 0;
  let wrongSize = 0;
  let firstBad = '';
  for (const [rel, size] of master.relations) {
    const got = copy.get(rel);
    if (got === undefined) missing++;
    else if (got !== size) wrongSize++;
    else continue;
    firstBad ||= `${rel} (${got ?? 'missing'} vs ${size} bytes)`;
  }
  const problems: string[] = [];
  if (missing) problems.push(`${missing}/${master.relations.size} relation files missing`);
  if (wrongSize) problems.push(`${wrongSize}/${master.relations.size} relation files of another size`);
  if (firstBad) problems.push(`first: ${firstBad}`);
  if (!existsSync(join(dir, 'global', 'pg_control'))) problems.push('global/pg_control missing');
  return { problems, files: copy.size, bytes: totalBytes(copy) };
}

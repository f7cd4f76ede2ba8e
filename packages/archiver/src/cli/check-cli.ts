/**
 * --check as a Nagios plugin: one status line on stdout (or JSON), exit 0-3; any problem with
 * the arguments or the ini is UNKNOWN (3), never a usage exit code Nagios would misread.
 */
import { runMain } from '@pitrtools/cli/exit';
import { loadConfig } from '@pitrtools/core/config/load';
import { errorMessage } from '@pitrtools/core/errors';
import { assertNotRoot } from '@pitrtools/core/root-guard';
import { NAGIOS, nagiosJson, nagiosResult, nagiosText } from '@pitrtools/core/nagios';
import { checkCommand, checkResult } from '../commands/check.js';

/** Runs --check and prints the result; returns the plugin's exit code. */
export async function runCheck(configFile: string, o: { json: boolean; warnAge?: number | undefined; critAge?: number | undefined }): Promise<number> {
  assertNotRoot('cmd_archiver');
  const { config } = loadConfig(configFile, 'archiver');
  const r = await checkCommand({
    config,
    ...(o.warnAge !== undefined ? { warnAge: o.warnAge } : {}),
    ...(o.critAge !== undefined ? { critAge: o.critAge } : {}),
  });
  process.stdout.write(`${o.json ? JSON.stringify(nagiosJson(checkResult(r), r)) : nagiosText(checkResult(r))}\n`);
  return r.code;
}

/** --check through the one exit point: errors become `PITR_ARCHIVER UNKNOWN - ...` (or that as --json) and exit 3. */
export function runCheckMain(fn: () => Promise<number>, o: { json: boolean } = { json: false }): Promise<never> {
  return runMain('cmd_archiver', async () => {
    try {
      return await fn();
    } catch (err) {
      const r = nagiosResult('PITR_ARCHIVER', 'UNKNOWN', errorMessage(err));
      process.stdout.write(`${o.json ? JSON.stringify(nagiosJson(r)) : nagiosText(r)}\n`);
      return NAGIOS.UNKNOWN;
    }
  });
}

/**
 * One action per run, whichever two are asked for: every action of the "Actions" group of
 * --help, paired with --check and with a plain action, is refused ("choose one action, not X and
 * Y"), never run with the other silently dropped (-S --check used to run only the check; --status
 * -A pause only the status). With --check the refusal is the Nagios UNKNOWN (exit 3, stdout).
 * An option whose help says "with --check" is refused without it. The real program, run as a
 * child with an ini that is not there, so that nothing would run even where the refusal is missing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { GROUPS, STANDBY_OPTIONS } from '../src/cli-options.js';

const BIN = new URL('../bin/cmd_standby.js', import.meta.url).pathname;
const INI = ['-C', '/nonexistent.ini'];

/** A value each action's flag accepts, so that only the pairing can be refused. */
const VALUES: Record<string, string[]> = { failover: ['999'], action: ['pause'], restore: ['F', 'P'] };
const ACTIONS = Object.entries(STANDBY_OPTIONS)
  .filter(([, o]) => o.group === GROUPS.actions)
  .map(([key, o]) => ({
    key,
    label: key === 'failover' ? '-F999' : typeof o.alias === 'string' ? `-${o.alias}` : `--${key}`,
    args: [`--${key}`, ...(o.type === 'string' ? (VALUES[key] ?? ['x']) : [])],
  }));
type Act = (typeof ACTIONS)[number];
const byKey = (k: string): Act => ACTIONS.find((a) => a.key === k)!;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** Runs every case (a few children at a time) and returns what each one printed that it should not have. */
async function failures<T>(cases: T[], one: (c: T) => Promise<string | undefined>): Promise<string[]> {
  const out: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const r = await one(cases[next++]!);
      if (r !== undefined) out.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, availableParallelism() * 2) }, worker));
  return out.sort();
}

const refusal = (a: Act, b: Act): RegExp => {
  const q = (s: string): string => s.replace(/[-]/g, '\\-');
  return new RegExp(`choose one action, not (${q(a.label)} and ${q(b.label)}|${q(b.label)} and ${q(a.label)})$`);
};

test('the table has the actions the defect was found with', () => {
  for (const k of ['dbinit', 'basebackup', 'standby', 'failover', 'ping', 'action', 'check', 'status', 'restore', 'backup', 'list-backups', 'rejoin'])
    assert.ok(
      ACTIONS.some((a) => a.key === k),
      k,
    );
});

test('every action with --check: UNKNOWN - choose one action, exit 3, one line on stdout (and as --json)', async () => {
  const check = byKey('check');
  const others = ACTIONS.filter((a) => a !== check);
  const bad = await failures(others, async (a) => {
    const json = a.key === 'standby' || a.key === 'status';
    const r = await run([...INI, ...a.args, ...check.args, ...(json ? ['--json'] : [])]);
    const line = json ? ((JSON.parse(r.stdout || '{}') as { summary?: string }).summary ?? '') : r.stdout.replace(/^PITR_STANDBY UNKNOWN - /, '');
    const ok =
      r.code === 3 &&
      r.stdout.trimEnd().split('\n').length === 1 &&
      (json || r.stdout.startsWith('PITR_STANDBY UNKNOWN - ')) &&
      refusal(a, check).test(line.trimEnd());
    return ok ? undefined : `${a.args.join(' ')} --check${json ? ' --json' : ''}: exit ${r.code} ${r.stdout}${r.stderr}`;
  });
  assert.deepEqual(bad, []);
});

test('every action with another action (-S, or -B with -S): choose one action, exit 2, nothing run', async () => {
  const partnerOf = (a: Act): Act => (a.key === 'standby' ? byKey('basebackup') : byKey('standby'));
  const cases = ACTIONS.filter((a) => a.key !== 'check');
  const bad = await failures(cases, async (a) => {
    const p = partnerOf(a);
    const r = await run([...INI, ...a.args, ...p.args]);
    const ok = r.code === 2 && r.stdout === '' && refusal(a, p).test(/^cmd_standby: ERROR: (.*)$/m.exec(r.stderr)?.[1] ?? '');
    return ok ? undefined : `${a.args.join(' ')} ${p.args.join(' ')}: exit ${r.code} ${r.stdout}${r.stderr}`;
  });
  assert.deepEqual(bad, []);
});

test('an option that goes with --check, without it: "--X goes with --check", exit 2', async () => {
  const checkOnly = Object.entries(STANDBY_OPTIONS).filter(([, o]) => /^(\S+: )?with --check:/i.test(o.describe));
  assert.ok(checkOnly.length >= 5, checkOnly.map(([k]) => k).join(' '));
  // Each in turn alone, or with the actions that used to take them silently (-P, --status) or that read the same server (-S, -A).
  const partners: string[][] = [[], ['-P'], ['--status'], ['-S'], ['-A', 'pause']];
  const cases = checkOnly.map(([key, o], i) => ({ key, args: [`--${key}`, ...(o.type === 'string' ? ['10'] : []), ...partners[i % partners.length]!] }));
  const bad = await failures(cases, async ({ key, args }) => {
    const r = await run([...INI, ...args]);
    const ok = r.code === 2 && new RegExp(`^cmd_standby: ERROR: --${key} goes with --check$`, 'm').test(r.stderr);
    return ok ? undefined : `${args.join(' ')}: exit ${r.code} ${r.stdout}${r.stderr}`;
  });
  assert.deepEqual(bad, []);
});

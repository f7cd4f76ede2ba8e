/**
 * How the demo shows its story: numbered steps with their outcome and time, the real commands
 * as a person would type them, and their output indented underneath.
 */
import { spawn } from 'node:child_process';

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = (s: string): string => paint('1', s);
export const dim = (s: string): string => paint('2', s);
export const green = (s: string): string => paint('32', s);
export const red = (s: string): string => paint('31', s);

/** A program the demo runs: what to show, what to execute. */
export interface Command {
  /** How a person would type it, e.g. `cmd_standby -C standby.ini -B`. */
  shown: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

/** Result of a command. */
export interface CommandResult {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let stepNo = 0;
let stepCount = 0;

/** Sets how many steps the story has (for the `[ 3/15]` counter). */
export function setStepCount(n: number): void {
  stepCount = n;
}

/** Runs one step: prints its title, runs `fn`, prints ✔ or ✘ with the time taken; rethrows failures. */
export async function step<T>(title: string, fn: () => Promise<T>): Promise<T> {
  stepNo++;
  const width = String(stepCount).length;
  process.stdout.write(`\n${bold(`[${String(stepNo).padStart(width)}/${stepCount}] ${title}`)}\n`);
  const started = Date.now();
  try {
    const r = await fn();
    process.stdout.write(`${green('  ✔')} ${dim(`${((Date.now() - started) / 1000).toFixed(1)} s`)}\n`);
    return r;
  } catch (err) {
    process.stdout.write(`${red(`  ✘ ${(err as Error).message}`)}\n`);
    throw err;
  }
}

/** Prints an explanatory line under the current step. */
export function note(text: string): void {
  process.stdout.write(`  ${text}\n`);
}

function indent(text: string): string {
  return text
    .replace(/\r/g, '\n')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `    ${l}`)
    .join('\n');
}

/**
 * Runs a command, showing it and its output. Long-running commands (`live`) inherit the
 * terminal so that their own progress display works; the others are captured and indented.
 */
export async function run(cmd: Command, opts: { live?: boolean; allowFail?: boolean } = {}): Promise<CommandResult> {
  process.stdout.write(`  ${dim('$')} ${cmd.shown}\n`);
  const live = opts.live === true && process.stdout.isTTY === true;
  const r = await new Promise<CommandResult>((resolve) => {
    const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), {
      env: { ...process.env, ...cmd.env },
      stdio: live ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err) => resolve({ code: null, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const out = indent(`${r.stdout}\n${r.stderr}`);
  if (out) process.stdout.write(`${dim(out)}\n`);
  if (r.code !== 0 && !opts.allowFail) {
    throw new Error(`${cmd.shown.split(' ')[0]} ${r.signal ? `was stopped by ${r.signal}` : `exited with ${r.code}`}`);
  }
  return r;
}

/** Running a program to its end in tests: argv as given (no shell), stdout/stderr collected, NO_COLOR, a deadline. */
import { spawn } from 'node:child_process';

/** What a finished program left. `code` is null when a signal ended it (the deadline's SIGKILL). */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv[0] with argv[1..]; never rejects. Default deadline 60 s (then SIGKILL). */
export function runProgram(argv: readonly string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, NO_COLOR: '1', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

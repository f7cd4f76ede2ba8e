/**
 * Running local programs: always an argument array, never a shell; a time limit that kills the
 * whole process group (a hook script's own children too); output captured up to a bound.
 */
import { spawn } from 'node:child_process';

/** What happened to a program we ran. */
export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  /** Set when the program could not be started at all (ENOENT, EACCES ...). */
  spawnError?: NodeJS.ErrnoException;
}

/** Options for runProcess. */
export interface ProcOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  stdin?: string | Buffer;
  /** Bytes of stdout/stderr kept (each); the rest is dropped. Default 64 KiB. */
  maxOutput?: number;
  /** Called with each chunk of output as it arrives (progress, pass-through). */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
}

/** Process groups of the programs runProcess started that have not ended yet. */
const running = new Set<number>();

/**
 * Sends `signal` to the process group of every program runProcess started that still runs. Each
 * runs in its own group (for its time limit), so a terminal's Ctrl-C reaches only us: a command
 * that stops on a signal calls this, or they would run on without us (pg_verifybackup did).
 */
export function stopRunningProcesses(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pid of running) {
    try {
      process.kill(-pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Runs argv[0] with argv[1..] and resolves when it ends, times out or cannot start. Never rejects. */
export function runProcess(argv: readonly string[], opts: ProcOptions = {}): Promise<ProcResult> {
  const started = Date.now();
  const max = opts.maxOutput ?? 64 * 1024;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(argv[0]!, argv.slice(1), {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Own process group, so a time-out can kill everything the program started.
      detached: true,
    });
    if (child.pid !== undefined) running.add(child.pid);
    const finish = (r: Omit<ProcResult, 'stdout' | 'stderr' | 'timedOut' | 'durationMs'>): void => {
      if (child.pid !== undefined) running.delete(child.pid);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, stdout, stderr, timedOut, durationMs: Date.now() - started });
    };
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup('SIGTERM');
          setTimeout(() => killGroup('SIGKILL'), 2000).unref();
        }, opts.timeoutMs)
      : undefined;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < max) stdout += d.slice(0, max - stdout.length);
      opts.onOutput?.('stdout', d);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < max) stderr += d.slice(0, max - stderr.length);
      opts.onOutput?.('stderr', d);
    });
    if (opts.stdin !== undefined) {
      child.stdin!.on('error', () => undefined); // the program may exit without reading
      child.stdin!.end(opts.stdin);
    }
    child.on('error', (err: NodeJS.ErrnoException) => finish({ code: null, signal: null, spawnError: err }));
    child.on('close', (code, signal) => finish({ code, signal }));
  });
}

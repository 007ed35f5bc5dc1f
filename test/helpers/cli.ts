/** Runs the built CLI (dist/, built by `npm test` before vitest) as a user would. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The shipped CLI: the esbuild bundle `npm run build` makes (package.json bin). */
export const BIN = path.join(ROOT, 'dist/bundle/bubble.js');

/** JSON lines (`--json` output of export, ps and replay) as objects; blank lines skipped. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function binBuilt(): boolean {
  return existsSync(BIN);
}

export function bubble(args: readonly string[], options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  if (!binBuilt()) throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does it first)`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, NO_COLOR: '1', ...options.env },
        ...(options.uid !== undefined && { uid: options.uid }),
        ...(options.gid !== undefined && { gid: options.gid }),
      },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

/** Children the test starts and must stop: killed in cleanup even when an assertion failed. */
export class Children {
  private readonly all: ChildProcess[] = [];

  start(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(command, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    this.all.push(child);
    return child;
  }

  /** A shell loop that burns one core. */
  burner(env?: NodeJS.ProcessEnv): ChildProcess {
    return this.start('sh', ['-c', 'while :; do :; done'], env);
  }

  /**
   * Allocates and touches `mib` MiB after `delayMs`, then sleeps. The delay lets the test move it into its cgroup
   * first: memory is charged to the cgroup that first touches it and does not follow a moved process.
   */
  allocator(mib: number, env?: NodeJS.ProcessEnv, delayMs = 700): ChildProcess {
    return this.start(
      process.execPath,
      ['-e', `setTimeout(() => { const b = Buffer.alloc(${mib} * 1024 * 1024, 1); setInterval(() => b[0]++, 1000); }, ${delayMs});`],
      env,
    );
  }

  killAll(): void {
    for (const child of this.all) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.all.length = 0;
  }
}

/** A long-running bubble (record, top): output collected, exit awaited. */
export interface RunningBubble {
  readonly child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit status (128 + signal number when killed). */
  exited(): Promise<number>;
  /** Resolves once stderr contains `text` (or rejects after timeoutMs). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

export function startBubble(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): RunningBubble {
  if (!binBuilt()) throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does it first)`);
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 0)));
  });
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    exited: () => exit,
    waitFor: (text, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = (): void => {
          if (typeof text === 'string' ? err.includes(text) : text.test(err)) return resolve();
          if (child.exitCode !== null || Date.now() - started > timeoutMs) {
            return reject(new Error(`bubble ${args.join(' ')} did not print ${String(text)}; stderr: ${err}`));
          }
          setTimeout(check, 50);
        };
        check();
      }),
  };
}

/**
 * `bubble record ARGS` with a bpftrace source, left running `ms` after bpftrace attached, then stopped with SIGINT as a
 * user would: its exit status and stderr.
 */
export async function recordAfterAttach(args: readonly string[], ms: number): Promise<{ status: number; stderr: string }> {
  const recorder = startBubble(['record', ...args]);
  try {
    await recorder.waitFor('bpftrace attached', 60_000);
    await sleep(ms);
  } finally {
    recorder.child.kill('SIGINT');
  }
  return { status: await recorder.exited(), stderr: recorder.stderr() };
}

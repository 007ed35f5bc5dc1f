/**
 * Timing primitives. In-process work is timed with the monotonic clock and process.cpuUsage (CPU of the whole Node
 * process, GC threads included: what the user's machine pays). A peer command is timed around spawnSync, and its CPU
 * comes from this process's cutime + cstime in /proc/self/stat, which grow when a waited-for child exits.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function best(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : Math.min(...xs);
}

export function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Wall and CPU time of each run of one thing. */
export class Series {
  readonly wallMs: number[] = [];
  readonly cpuMs: number[] = [];

  add(wallMs: number, cpuMs: number): void {
    this.wallMs.push(wallMs);
    this.cpuMs.push(cpuMs);
  }

  get n(): number {
    return this.wallMs.length;
  }
  get medianMs(): number {
    return median(this.wallMs);
  }
  get bestMs(): number {
    return best(this.wallMs);
  }
  /** Median CPU per run (in-process runs); peers have per-run CPU at clock-tick resolution, see PeerSeries. */
  get cpuMedianMs(): number {
    return median(this.cpuMs);
  }
}

/** Runs fn once, adding its wall and CPU time to `into`; returns fn's value. */
export function timeSync<T>(into: Series, fn: () => T): T {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = fn();
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  into.add(Number(t1 - t0) / 1e6, (cpu.user + cpu.system) / 1000);
  return value;
}

/** cutime + cstime of this process (fields 16, 17 of /proc/self/stat), clock ticks: CPU of children reaped so far. */
export function childCpuTicks(procRoot = '/proc'): number {
  const text = readFileSync(`${procRoot}/self/stat`, 'latin1');
  // Fields after the comm's closing parenthesis start at field 3 (state).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[16 - 3]) + Number(fields[17 - 3]);
}

export interface PeerRun {
  readonly ok: boolean;
  /** Lines of output (ps and top print one per process plus headers). */
  readonly lines: number;
  readonly error?: string;
}

/**
 * A peer command's runs. CPU per run is a whole number of clock ticks (10 ms at CLK_TCK 100), so the figure that
 * means something is the total over all runs divided by their number: `cpuMeanMs`.
 */
export class PeerSeries extends Series {
  readonly command: string;
  readonly args: readonly string[];
  private readonly clkTck: number;

  constructor(command: string, args: readonly string[], clkTck: number) {
    super();
    this.command = command;
    this.args = args;
    this.clkTck = clkTck;
  }

  get cpuMeanMs(): number {
    return this.n === 0 ? Number.NaN : sum(this.cpuMs) / this.n;
  }

  /** One run, output collected into a buffer and dropped; `record: false` for a warm-up run. */
  run(record = true): PeerRun {
    const ticks0 = childCpuTicks();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    const t1 = process.hrtime.bigint();
    const ticks = childCpuTicks() - ticks0;
    if (r.error !== undefined) return { ok: false, lines: 0, error: r.error.message };
    if (r.status !== 0) return { ok: false, lines: 0, error: `exit ${r.status ?? r.signal}: ${r.stderr.toString().trim()}` };
    if (record) this.add(Number(t1 - t0) / 1e6, (ticks * 1000) / this.clkTck);
    let lines = 0;
    for (const byte of r.stdout) if (byte === 0x0a) lines++;
    return { ok: true, lines };
  }
}

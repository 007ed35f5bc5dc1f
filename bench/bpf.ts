/**
 * Issue "Kernel events without sysdig's driver", benchmark: what the bpftrace source costs, side by side in one run.
 *
 * 1. CPU at 1 s on the usual ~400-process host: `bubble record --source procfs` and `bubble record --source bpf`
 *    (with its bpftrace child) run at once, each into a temp store, over the same window; CPU of each pid from
 *    /proc/PID/stat. Budget: bubble + bpftrace together under 1.5x `record --source procfs` alone.
 * 2. The slowdown on a syscall-heavy workload: `dd if=/dev/zero of=/dev/null bs=1 count=2M` (4 M syscalls) timed
 *    while `record --source procfs` runs (without the source), while `record --source bpf --bpf-errors off` runs, and
 *    with `--bpf-errors on` (the probe on every syscall). Budget: with the source and the error probe off, under 10 %.
 *    The BPF programs run in the traced process's context: dd's own time is where their cost shows.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpfAvailability } from '../src/collectors/bpf.js';
import { ProcReader } from '../src/collectors/procfs.js';
import { countProcesses, type BenchContext, type Section } from './context.js';
import { best, median, sleep } from './measure.js';
import type { Check, Row, SectionResult } from './report.js';
import { processCpuTicks } from './top-tmux.js';

const CPU_RATIO_BUDGET = 1.5;
const DD_SLOWDOWN_BUDGET = 0.1;
/** CPU window at the default 40 rounds; fewer rounds shorten it (a smoke run). */
const CPU_WINDOW_MS = 30_000;
const CPU_SETTLE_MS = 3000;
/** dd runs per configuration at the default rounds. */
const DD_RUNS = 5;
const DD_ARGS = ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=2M'];
const ATTACH_TIMEOUT_MS = 90_000;

const BUBBLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bundle/bubble.js');

/** A `bubble record` running for the section, with its stderr kept. */
class Recorder {
  readonly label: string;
  readonly child: ChildProcess;
  private err = '';

  constructor(label: string, args: readonly string[]) {
    this.label = label;
    this.child = spawn(process.execPath, [BUBBLE, 'record', '--interval', '1s', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString('utf8')));
  }

  get stderr(): string {
    return this.err;
  }

  /** Resolves when stderr has `text` (bpftrace attached); rejects when the recorder exits or the time is up. */
  async waitFor(text: string, timeoutMs: number): Promise<void> {
    const started = Date.now();
    while (!this.err.includes(text)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.label} exited: ${this.err.trim()}`);
      if (Date.now() - started > timeoutMs) throw new Error(`${this.label}: no '${text}' in ${timeoutMs / 1000} s: ${this.err.trim()}`);
      await sleep(100);
    }
  }

  /** Its bpftrace child's pid, when it runs one. */
  bpftracePid(): number | undefined {
    const pid = this.child.pid;
    if (pid === undefined) return undefined;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      let children: string;
      try {
        children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.trim().split(/\s+/).filter(Boolean)) {
        try {
          if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'bpftrace') return Number(c);
        } catch {
          // gone
        }
      }
    }
    return undefined;
  }

  /** SIGINT (the recorder writes its buckets and stops bpftrace) and wait for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** One dd run's wall time, ms. */
function ddOnce(): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('dd', DD_ARGS, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`dd ${DD_ARGS.join(' ')} failed: ${r.stderr.toString().trim()}`);
  return ms;
}

interface DdConfig {
  readonly label: string;
  readonly args: readonly string[];
  readonly bpf: boolean;
  readonly times: number[];
}

export const bpfSection: Section = {
  name: 'bpf',
  summary: 'bpftrace source: bubble + bpftrace CPU vs record --source procfs at 1 s; dd bs=1 slowdown (budgets < 1.5x, < 10 %)',
  needsWorkload: true,

  async run(ctx: BenchContext): Promise<SectionResult> {
    if (!existsSync(BUBBLE)) throw new Error(`${BUBBLE} is missing: build first (npm run build)`);
    const available = bpfAvailability();
    const notes: string[] = [];
    const rows: Row[] = [];
    const checks: Check[] = [];
    if (!available.ok) {
      notes.push(`bpftrace cannot run here (${available.why}): nothing measured`);
      return { title: 'bpftrace source: CPU and dd slowdown', rows, checks, notes };
    }
    const scale = Math.min(1, ctx.rounds / 40);
    const windowMs = Math.max(3000, Math.round(CPU_WINDOW_MS * scale));
    const ddRuns = Math.max(1, Math.round(DD_RUNS * scale));
    const reader = new ProcReader();
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'bubble-bench-bpf-'));
    const running: Recorder[] = [];
    const start = (label: string, args: readonly string[]): Recorder => {
      const r = new Recorder(label, [...args, '--db', path.join(tmp, `${running.length}.db`)]);
      running.push(r);
      return r;
    };
    const stopAll = async (): Promise<void> => {
      await Promise.all(running.splice(0).map((r) => r.stop()));
    };
    const killAll = (): void => {
      for (const r of running) r.child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    };
    process.once('exit', killAll);

    try {
      // 1. CPU side by side.
      const procfs = start('record --source procfs', ['--source', 'procfs']);
      const bpf = start('record --source bpf', ['--source', 'bpf', '--bpf-errors', 'off']);
      ctx.log('bpf: waiting for bpftrace to attach');
      await bpf.waitFor('bpftrace attached', ATTACH_TIMEOUT_MS);
      await sleep(CPU_SETTLE_MS);
      const bpftrace = bpf.bpftracePid();
      if (bpftrace === undefined) throw new Error('record --source bpf runs no bpftrace child');
      const pids = { procfs: procfs.child.pid!, bpf: bpf.child.pid!, bpftrace };
      ctx.log(`bpf: measuring CPU for ${windowMs / 1000} s`);
      const processes = countProcesses().processes;
      const t0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuTicks(pid)]));
      const w0 = process.hrtime.bigint();
      await sleep(windowMs);
      const t1 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuTicks(pid)]));
      const seconds = Number(process.hrtime.bigint() - w0) / 1e9;
      await stopAll();
      const cpuMsPerSec = (k: keyof typeof pids): number => {
        const a = t0[k];
        const b = t1[k];
        if (a === undefined || b === undefined) throw new Error(`${k} (pid ${pids[k]}) ended during the CPU window`);
        return ((b - a) * 1000) / reader.clkTck / seconds;
      };
      const alone = cpuMsPerSec('procfs');
      const bubbleCpu = cpuMsPerSec('bpf');
      const bpftraceCpu = cpuMsPerSec('bpftrace');
      const n = Math.round(seconds);
      rows.push({ label: 'CPU: bubble record --source procfs', note: 'reference', n, cpuMs: alone, ratio: 1 });
      rows.push({ label: 'CPU: bubble record --source bpf (bubble)', n, cpuMs: bubbleCpu, ratio: bubbleCpu / alone });
      rows.push({ label: 'CPU: its bpftrace', n, cpuMs: bpftraceCpu, ratio: bpftraceCpu / alone });
      rows.push({ label: 'CPU: bubble + bpftrace', n, cpuMs: bubbleCpu + bpftraceCpu, ratio: (bubbleCpu + bpftraceCpu) / alone });
      checks.push({
        name: 'record --source bpf + bpftrace CPU / record --source procfs CPU, at 1 s',
        measured: (bubbleCpu + bpftraceCpu) / alone,
        limit: CPU_RATIO_BUDGET,
        unit: '×',
      });
      notes.push(
        `CPU: utime+stime of each pid (/proc/PID/stat) over the same ${seconds.toFixed(1)} s window, from ${CPU_SETTLE_MS / 1000} s after bpftrace ` +
          `attached; both recorders at 1 s into temp stores, ${processes} processes in /proc; cpu/run is CPU per second. ` +
          `The BPF programs' own run time is charged to the traced processes, not to bpftrace: see the dd rows`,
      );

      // 2. dd bs=1: without the source, with it (error probe off), with the error probe on.
      const configs: DdConfig[] = [
        { label: 'record --source procfs', args: ['--source', 'procfs'], bpf: false, times: [] },
        { label: 'record --source bpf --bpf-errors off', args: ['--source', 'bpf', '--bpf-errors', 'off'], bpf: true, times: [] },
        { label: 'record --source bpf --bpf-errors on', args: ['--source', 'bpf', '--bpf-errors', 'on'], bpf: true, times: [] },
      ];
      ddOnce(); // warm-up: dd into the page cache
      for (const c of configs) {
        const r = start(c.label, c.args);
        if (c.bpf) await r.waitFor('bpftrace attached', ATTACH_TIMEOUT_MS);
        await sleep(2000);
        ctx.log(`bpf: dd ${DD_ARGS.join(' ')} x${ddRuns} beside ${c.label}`);
        for (let i = 0; i < ddRuns; i++) c.times.push(ddOnce());
        await stopAll();
      }
      const base = median(configs[0]!.times);
      for (const c of configs) {
        const m = median(c.times);
        rows.push({ label: `dd bs=1 count=2M beside ${c.label}`, n: c.times.length, medianMs: m, bestMs: best(c.times), ratio: m / base });
      }
      checks.push({
        name: 'dd bs=1 time with the bpf source (--bpf-errors off) / without it',
        measured: median(configs[1]!.times) / base,
        limit: 1 + DD_SLOWDOWN_BUDGET,
        unit: '×',
      });
      notes.push(
        `dd: \`dd ${DD_ARGS.join(' ')}\` (~4 M read/write syscalls), wall time, ${ddRuns} runs per configuration after a warm-up, each recorder ` +
          `attached and settled 2 s first; the slowdown check is median(bpf, errors off) / median(procfs) (budget under ${1 + DD_SLOWDOWN_BUDGET}: ${DD_SLOWDOWN_BUDGET * 100} %); ` +
          `--bpf-errors on is shown for hosts that want syscall errors`,
      );
      notes.push('vs record: ratio to `record --source procfs` (CPU) and to dd beside it (dd)');
      return { title: 'bpftrace source: CPU at 1 s beside record --source procfs, dd bs=1 slowdown', ratioOf: 'vs record', rows, checks, notes };
    } finally {
      await stopAll();
      killAll();
      process.off('exit', killAll);
    }
  },
};

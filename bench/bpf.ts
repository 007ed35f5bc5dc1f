/**
 * Issue "Kernel events without sysdig's driver", benchmark: what the bpftrace source costs, side by side in one run.
 *
 * 1. CPU at 1 s on the usual ~400-process host: `bubble record --source procfs` and `bubble record --source bpf`
 *    (with its bpftrace child), each alone in turn, two rounds, into temp stores; CPU of each pid from /proc/PID/stat.
 *    Budget: bubble + bpftrace together under 1.5x `record --source procfs` alone.
 * 2. The slowdown on a syscall-heavy workload: `dd if=/dev/zero of=/dev/null bs=1 count=2M` (4 M syscalls) timed
 *    while `record --source procfs` runs (without the source), while `record --source bpf` runs with every syscall
 *    probe off (`--bpf-errors off --bpf-files off`), with the files-opened probes on (`--bpf-errors off`), with the
 *    error probe on too, and beside a bare bpftrace with one syscall tracepoint and no bubble (the floor: any syscall
 *    tracepoint puts every syscall of every task on the kernel's slow path). Budget: every syscall probe off, under
 *    10 %. The BPF programs run in the traced process's context: dd's own time is where their cost shows.
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
const CPU_ROUNDS = 2;
/** dd runs per configuration at the default rounds. */
const DD_RUNS = 5;
const DD_ARGS = ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=2M'];
const ATTACH_TIMEOUT_MS = 90_000;

const BUBBLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bundle/bubble.js');

/** The floor row's program: one syscall tracepoint, no bubble. */
const FLOOR_PROGRAM = 'tracepoint:syscalls:sys_enter_openat { @c = count(); }';

/** A `bubble record` (or the floor's bare bpftrace) running for the section, with its output kept. */
class Recorder {
  readonly label: string;
  readonly child: ChildProcess;
  private err = '';

  /** `argv`: the command and its arguments. @default `bubble record --interval 1s` and `args` */
  constructor(label: string, args: readonly string[], argv: readonly string[] = [process.execPath, BUBBLE, 'record', '--interval', '1s', ...args]) {
    this.label = label;
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    // bpftrace says "Attaching 1 probe..." on stdout; bubble record says what it does on stderr.
    this.child.stdout!.on('data', (d: Buffer) => (this.err += d.toString('utf8')));
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString('utf8')));
  }

  get stderr(): string {
    return this.err;
  }

  /** Resolves when its output has `text` (bpftrace attached); rejects when it exits or the time is up. */
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
  /** What its output says once bpftrace is attached; undefined: nothing to wait for. */
  readonly attached: string | undefined;
  /** The command instead of `bubble record` (the floor row). */
  readonly argv?: readonly string[];
  /** Said beside its row. */
  readonly note?: string;
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
    const start = (label: string, args: readonly string[], argv?: readonly string[]): Recorder => {
      const r = new Recorder(label, [...args, '--db', path.join(tmp, `${running.length}.db`)], argv);
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
      // 1. CPU: each recorder alone, in turn, CPU_ROUNDS times (run at once on a few cores, each costs more than alone,
      // and the ratio shrinks toward 1).
      const ticks = { procfs: 0, bpf: 0, bpftrace: 0 };
      let seconds = 0;
      const processes = countProcesses().processes;
      const perRound = windowMs / CPU_ROUNDS;
      ctx.log(`bpf: measuring CPU, each recorder alone for ${perRound / 1000} s, ${CPU_ROUNDS} rounds`);
      for (let round = 0; round < CPU_ROUNDS; round++) {
        for (const kind of ['procfs', 'bpf'] as const) {
          const r = kind === 'procfs' ? start('record --source procfs', ['--source', 'procfs']) : start('record --source bpf', ['--source', 'bpf']);
          if (kind === 'bpf') await r.waitFor('bpftrace attached', ATTACH_TIMEOUT_MS);
          await sleep(CPU_SETTLE_MS);
          const bpftrace = kind === 'bpf' ? r.bpftracePid() : undefined;
          if (kind === 'bpf' && bpftrace === undefined) throw new Error('record --source bpf runs no bpftrace child');
          const pids = [r.child.pid!, ...(bpftrace === undefined ? [] : [bpftrace])];
          const t0 = pids.map((pid) => processCpuTicks(pid));
          const w0 = process.hrtime.bigint();
          await sleep(perRound);
          const t1 = pids.map((pid) => processCpuTicks(pid));
          const s = Number(process.hrtime.bigint() - w0) / 1e9;
          await stopAll();
          const used = pids.map((pid, i) => {
            if (t0[i] === undefined || t1[i] === undefined) throw new Error(`${r.label} (pid ${pid}) ended during its CPU window`);
            return t1[i]! - t0[i]!;
          });
          ticks[kind] += used[0]!;
          if (kind === 'bpf') ticks.bpftrace += used[1]!;
          if (kind === 'procfs') seconds += s;
        }
      }
      // Both kinds ran for the same windows (perRound each), so one time base serves both.
      const cpuMsPerSec = (k: keyof typeof ticks): number => (ticks[k] * 1000) / reader.clkTck / seconds;
      const alone = cpuMsPerSec('procfs');
      const bubbleCpu = cpuMsPerSec('bpf');
      const bpftraceCpu = cpuMsPerSec('bpftrace');
      const n = Math.round(seconds);
      rows.push({ label: 'CPU: bubble record --source procfs', note: 'reference', n, cpuMs: alone, ratio: 1 });
      rows.push({ label: 'CPU: bubble record --source bpf (bubble; its default probes: errors and files on)', n, cpuMs: bubbleCpu, ratio: bubbleCpu / alone });
      rows.push({ label: 'CPU: its bpftrace', n, cpuMs: bpftraceCpu, ratio: bpftraceCpu / alone });
      rows.push({ label: 'CPU: bubble + bpftrace', n, cpuMs: bubbleCpu + bpftraceCpu, ratio: (bubbleCpu + bpftraceCpu) / alone });
      checks.push({
        name: 'record --source bpf + bpftrace CPU / record --source procfs CPU, at 1 s',
        measured: (bubbleCpu + bpftraceCpu) / alone,
        limit: CPU_RATIO_BUDGET,
        unit: '×',
      });
      notes.push(
        `CPU: utime+stime of each pid (/proc/PID/stat), each recorder alone in turn, ${CPU_ROUNDS} rounds of ${(perRound / 1000).toFixed(1)} s, from ${CPU_SETTLE_MS / 1000} s after ` +
          `its start (bpftrace attached); at 1 s into temp stores, ${processes} processes in /proc; cpu/run is CPU per second. ` +
          `The BPF programs' own run time is charged to the traced processes, not to bpftrace: see the dd rows`,
      );

      // 2. dd bs=1: without the source, with it and every syscall probe off, with the files probes, with the error
      // probe too, and beside the floor (one bare syscall tracepoint).
      const attached = 'bpftrace attached';
      const configs: DdConfig[] = [
        { label: 'record --source procfs', args: ['--source', 'procfs'], attached: undefined, times: [] },
        {
          label: 'record --source bpf --bpf-errors off --bpf-files off',
          args: ['--source', 'bpf', '--bpf-errors', 'off', '--bpf-files', 'off'],
          attached,
          note: 'budget: every syscall probe off',
          times: [],
        },
        {
          label: 'record --source bpf --bpf-errors off',
          args: ['--source', 'bpf', '--bpf-errors', 'off'],
          attached,
          note: "the openat probes on: its excess is the floor row's",
          times: [],
        },
        { label: 'record --source bpf --bpf-errors on', args: ['--source', 'bpf', '--bpf-errors', 'on'], attached, times: [] },
        {
          label: `a bare bpftrace -e '${FLOOR_PROGRAM}' (no bubble)`,
          args: [],
          argv: [available.bin, '-e', FLOOR_PROGRAM],
          attached: 'Attaching 1 probe',
          note: 'floor: any syscall tracepoint',
          times: [],
        },
      ];
      ddOnce(); // warm-up: dd into the page cache
      for (const c of configs) {
        const r = c.argv === undefined ? start(c.label, c.args) : start(c.label, [], c.argv);
        if (c.attached !== undefined) await r.waitFor(c.attached, ATTACH_TIMEOUT_MS);
        await sleep(2000);
        ctx.log(`bpf: dd ${DD_ARGS.join(' ')} x${ddRuns} beside ${c.label}`);
        for (let i = 0; i < ddRuns; i++) c.times.push(ddOnce());
        await stopAll();
      }
      const base = median(configs[0]!.times);
      for (const c of configs) {
        const m = median(c.times);
        rows.push({
          label: `dd bs=1 count=2M beside ${c.label}`,
          ...(c.note !== undefined && { note: c.note }),
          n: c.times.length,
          medianMs: m,
          bestMs: best(c.times),
          ratio: m / base,
        });
      }
      checks.push({
        name: 'dd bs=1 time with the bpf source, every syscall probe off (--bpf-errors off --bpf-files off) / without it',
        measured: median(configs[1]!.times) / base,
        limit: 1 + DD_SLOWDOWN_BUDGET,
        unit: '×',
      });
      notes.push(
        `dd: \`dd ${DD_ARGS.join(' ')}\` (~4 M read/write syscalls), wall time, ${ddRuns} runs per configuration after a warm-up, each recorder ` +
          `attached and settled 2 s first; the slowdown check is median(bpf, every syscall probe off) / median(procfs) (budget under ` +
          `${1 + DD_SLOWDOWN_BUDGET}: ${DD_SLOWDOWN_BUDGET * 100} %)`,
        `dd beside --bpf-errors off (the files-opened probes on, the default): its excess over the budgeted row is the floor row's, ` +
          `a bare bpftrace with one syscall tracepoint (${FLOOR_PROGRAM}): any syscall tracepoint puts every syscall of every task on ` +
          `the kernel's slow path, and there is no other way to see opens here; --bpf-files off is for hosts where that matters. ` +
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

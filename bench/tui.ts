/**
 * Issue "The TUI": the time to render one frame of the container view with 1,000 processes. Budget: 16 ms (a frame
 * at 60 Hz), so a tick or a key never waits on drawing.
 *
 * The App renders with Ink into an in-memory 120x40 terminal (Ink's debug mode: every render is written at once, not
 * throttled), fed by a fixed Source of Snapshots made by the real toSnapshot(): a container of 1,000 processes in a
 * tree four wide, on a host with 2,000 more processes elsewhere. Three frames are timed, from the action to the
 * frame's write:
 * - a data tick: a new Snapshot (grouped by container, sorted, tree built, the visible rows formatted);
 * - a key: ↓ in the process list (nothing re-derived: the window moves and the visible rows are formatted);
 * - the first frame: renderToString of the whole App, Ink and Yoga set up from nothing.
 */
import { EventEmitter } from 'node:events';
import { render, renderToString } from 'ink';
import { createElement } from 'react';
import type { Snapshot } from '../src/model/snapshot.js';
import { App } from '../src/tui/App.js';
import { dockerSpec, FixedSource, HOST_SPEC, keyOf, snapshotOf, T0, type World } from '../test/helpers/fixed-source.js';
import type { BenchContext, Section } from './context.js';
import { Series } from './measure.js';
import type { Check, Row, SectionResult } from './report.js';

const FRAME_BUDGET_MS = 16;
const PROCESSES = 1000;
const OTHER_PROCESSES = 2000;
const COLUMNS = 120;
const ROWS = 40;
const WARMUP = 10;

/** A terminal in memory: Ink writes each frame here. */
class MemoryTerminal extends EventEmitter {
  readonly columns = COLUMNS;
  readonly rows = ROWS;
  readonly isTTY = true;
  frames = 0;
  lastFrame = '';
  onFrame: (() => void) | undefined;
  write = (data: string): boolean => {
    this.frames++;
    this.lastFrame = data;
    this.onFrame?.();
    return true;
  };
}

class MemoryInput extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;
  send(data: string): void {
    this.data = data;
    this.emit('readable');
  }
  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

const BIG = dockerSpec('b', 'big', { cpuPercent: 350, memoryBytes: 3 * 2 ** 30, memoryLimitBytes: 8 * 2 ** 30, pids: PROCESSES });

function world(): World {
  const big = keyOf(BIG);
  return {
    containers: [BIG, dockerSpec('c', 'other'), HOST_SPEC],
    processes: [
      // A tree four wide: 1000 <- 1001..1004 <- 1005..1020 ...
      ...Array.from({ length: PROCESSES }, (_, i) => ({
        pid: 1000 + i,
        ppid: i === 0 ? 900 : 1000 + Math.floor((i - 1) / 4),
        comm: `worker-${i}`,
        cmdline: `/usr/local/bin/worker --shard ${i} --config /etc/worker/worker.yaml --verbose`,
        user: i % 3 === 0 ? 'www-data' : 'app',
        container: big,
        cpuPercent: (i * 37) % 101,
        rssBytes: (10 + (i % 50)) * 2 ** 20,
        readPerSec: (i % 7) * 1024,
        writePerSec: (i % 5) * 4096,
        threads: 1 + (i % 8),
        nspid: i + 1,
      })),
      ...Array.from({ length: OTHER_PROCESSES }, (_, i) => ({
        pid: 10_000 + i,
        container: i % 2 === 0 ? keyOf(dockerSpec('c', 'other')) : 'host',
        cpuPercent: i % 3,
      })),
    ],
  };
}

function p90(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] ?? Number.NaN;
}

/** Runs `trigger` and resolves with the wall and CPU time until the terminal receives the next frame. */
function timeFrame(term: MemoryTerminal, into: Series | undefined, trigger: () => void): Promise<void> {
  return new Promise((resolve) => {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    term.onFrame = () => {
      const t1 = process.hrtime.bigint();
      const cpu = process.cpuUsage(cpu0);
      term.onFrame = undefined;
      into?.add(Number(t1 - t0) / 1e6, (cpu.user + cpu.system) / 1000);
      resolve();
    };
    trigger();
  });
}

export const tuiSection: Section = {
  name: 'tui',
  summary: 'one frame of the container view with 1,000 processes (Ink, 120x40)',
  needsWorkload: false,

  async run(ctx: BenchContext): Promise<SectionResult> {
    const base = snapshotOf(world(), T0);
    // Each tick a new Snapshot object (same data): the per-snapshot grouping cache misses, as on a real tick.
    const fresh = (i: number): Snapshot => ({ ...base, timeMs: T0 + (i + 1) * 1000 });
    const source = new FixedSource({ snapshots: [base] });
    const term = new MemoryTerminal();
    const input = new MemoryInput();
    const app = createElement(App, { source, containerKey: keyOf(BIG), color: false });
    const instance = render(app, {
      stdout: term as unknown as NodeJS.WriteStream,
      stdin: input as unknown as NodeJS.ReadStream,
      debug: true,
      exitOnCtrlC: false,
      patchConsole: false,
    });
    const notes: string[] = [];
    try {
      // Ink and React warm up (JIT, first layouts) before anything is counted.
      for (let i = 0; i < WARMUP; i++) await timeFrame(term, undefined, () => source.push(fresh(-WARMUP + i)));
      const tick = new Series();
      const key = new Series();
      ctx.log(`tui: ${ctx.rounds} data ticks and ${ctx.rounds} key presses, container view of ${PROCESSES} processes`);
      for (let i = 0; i < ctx.rounds; i++) {
        await timeFrame(term, tick, () => source.push(fresh(i)));
        await timeFrame(term, key, () => input.send('\u001b[B'));
      }
      const frame = term.lastFrame;
      const rows = frame.split('\n').length;
      const processRows = frame.split('\n').filter((l) => /^[> ]\s+\d+ /.test(l)).length;
      if (!frame.includes('worker')) throw new Error(`the frame shows no process:\n${frame}`);

      const cold = new Series();
      for (let i = 0; i < Math.max(3, Math.floor(ctx.rounds / 4)); i++) {
        const s = new FixedSource({ snapshots: [fresh(1000 + i)] });
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        renderToString(createElement(App, { source: s, containerKey: keyOf(BIG), color: false, columns: COLUMNS, rows: ROWS }), {
          columns: COLUMNS,
        });
        const cpu = process.cpuUsage(cpu0);
        cold.add(Number(process.hrtime.bigint() - t0) / 1e6, (cpu.user + cpu.system) / 1000);
      }

      const rowsOut: Row[] = [
        { label: 'data tick: new snapshot -> frame', n: tick.n, medianMs: tick.medianMs, bestMs: tick.bestMs, cpuMs: tick.cpuMedianMs },
        { label: 'key ↓ -> frame', n: key.n, medianMs: key.medianMs, bestMs: key.bestMs, cpuMs: key.cpuMedianMs },
        { label: 'first frame (renderToString, cold Ink)', n: cold.n, medianMs: cold.medianMs, bestMs: cold.bestMs, cpuMs: cold.cpuMedianMs },
      ];
      const checks: Check[] = [
        { name: 'container view frame on a data tick (median)', measured: tick.medianMs, limit: FRAME_BUDGET_MS, unit: 'ms' },
        { name: 'container view frame on a key (median)', measured: key.medianMs, limit: FRAME_BUDGET_MS, unit: 'ms' },
        // CPU too: on a busy host the wall figures carry other processes' time.
        { name: 'container view frame on a data tick, CPU (median)', measured: tick.cpuMedianMs, limit: FRAME_BUDGET_MS, unit: 'ms' },
      ];
      notes.push(
        `${PROCESSES} processes in the container, ${OTHER_PROCESSES} elsewhere on the host; ` +
          `the frame is ${rows} lines with ${processRows} process rows (only those are formatted)`,
      );
      notes.push(`slowest data-tick frame ${Math.max(...tick.wallMs).toFixed(2)} ms (p90 ${p90(tick.wallMs).toFixed(2)} ms)`);
      notes.push('a tick frame includes grouping the host by container, sorting and building the tree of the 1,000');
      notes.push(
        `React ran in ${process.env['NODE_ENV'] === 'production' ? 'production' : 'development'} mode (NODE_ENV=${process.env['NODE_ENV'] ?? 'unset'}); ` +
          "most of a frame is Ink's per-character output (string widths, styled cells), so it grows with the terminal, not the processes",
      );
      return { title: 'container view, 1,000 processes, one frame', rows: rowsOut, checks, notes };
    } finally {
      instance.unmount();
    }
  },
};

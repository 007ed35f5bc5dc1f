/**
 * Issue 11 ("Fast and light"): resident memory of `bubble top` and `bubble record` beside htop and atop, all running at
 * once on the shared workload (a few hundred processes). Budgets: `bubble top` < 64 MB, `bubble record` < 48 MB, steady.
 *
 * `bubble top` (recording into a temp store, as users run it) and `htop -d 10` run in a private tmux server
 * (bench/top-tmux.ts); `bubble record` (its default source) and `atop -w FILE 1` run as children. Each one's VmRSS,
 * RssAnon and RssFile are read from /proc/PID/status every second from SETTLE_S on: the steady figure is the median of
 * the window's second half (after the first collections), the max is over the whole window. RssFile of a Node program
 * is mostly node's own binary pages (a bare `node -e` is the floor row), which no JavaScript can give back.
 * BUBBLE_BENCH_BEFORE=path/to/bundle/bubble.js adds that build's `record` and `top` to the same window (before/after).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { which } from './collector.js';
import { countProcesses, type BenchContext, type Section } from './context.js';
import { median, sleep } from './measure.js';
import type { Check, Row, SectionResult } from './report.js';
import { cliPath, findAtop } from './store.js';
import { TmuxServer } from './top-tmux.js';

/** Budgets from issue 11, VmRSS in MB (2^20 bytes). */
const TOP_BUDGET_MB = 64;
const RECORD_BUDGET_MB = 48;

const SETTLE_S = 5;
const WINDOW_S = 60;

interface Rss {
  readonly vmRss: number;
  readonly anon: number;
  readonly file: number;
}

/** VmRSS, RssAnon, RssFile of a process, bytes; undefined once it is gone. */
export function readRss(pid: number): Rss | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
  return { vmRss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

interface Contender {
  readonly label: string;
  pid?: number;
  child?: ChildProcess;
  readonly samples: Rss[];
}

const mb = (bytes: number): number => bytes / 2 ** 20;
const fmt = (bytes: number): string => `${mb(bytes).toFixed(1)} MB`;

/** Steady (median of the second half) and max of each figure. */
function summary(samples: readonly Rss[]): { steady: Rss; max: Rss } {
  const late = samples.slice(Math.floor(samples.length / 2));
  const of = (xs: readonly Rss[], agg: (v: number[]) => number): Rss => ({
    vmRss: agg(xs.map((r) => r.vmRss)),
    anon: agg(xs.map((r) => r.anon)),
    file: agg(xs.map((r) => r.file)),
  });
  return { steady: of(late, median), max: of(samples, (v) => Math.max(...v)) };
}

export const memorySection: Section = {
  name: 'memory',
  summary: 'resident memory (VmRSS, RssAnon, RssFile) of bubble top and bubble record beside htop and atop, all at once',
  needsWorkload: true,

  async run(ctx: BenchContext): Promise<SectionResult> {
    const cli = cliPath();
    if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npm run bench builds)`);
    const notes: string[] = [];
    const rows: Row[] = [];
    const checks: Check[] = [];
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'bubble-bench-memory-'));
    const tmux = which('tmux') === undefined ? undefined : new TmuxServer(120, 40);
    const atop = findAtop(ctx);
    if (atop.why !== undefined) notes.push(atop.why);
    const children: ChildProcess[] = [];
    const cleanUp = (): void => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      tmux?.stop();
      rmSync(tmp, { recursive: true, force: true });
    };
    process.once('exit', cleanUp);
    const contenders: Contender[] = [];
    try {
      const duration = SETTLE_S + WINDOW_S + 2;
      ctx.log(`memory: bubble record, bubble top, htop and atop at once for ${duration} s`);
      const spawned: Promise<unknown>[] = [];
      const start = (label: string, argv: readonly string[]): Contender => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
        children.push(child);
        // Listened for at once: a child's 'spawn' comes on a later tick, before a later `await once()` would listen.
        spawned.push(once(child, 'spawn'));
        const c: Contender = { label, child, samples: [] };
        contenders.push(c);
        return c;
      };
      // Run as users run it: the file itself, so its #! line's node flags apply.
      const record = start('bubble record --interval 1s', [cli, 'record', '--db', path.join(tmp, 'record.db'), '--interval', '1s', '--quiet']);
      const floor = start("node -e 'setTimeout(...)' (a bare Node)", [process.execPath, '-e', 'setTimeout(() => {}, 3600000)']);
      if (atop.path !== undefined) start('atop -w FILE 1', [atop.path, '-w', path.join(tmp, 'atop.raw'), '1']);
      const before = process.env['BUBBLE_BENCH_BEFORE'];
      if (before !== undefined) {
        start(`before: bubble record (${before})`, [before, 'record', '--db', path.join(tmp, 'before-record.db'), '--interval', '1s', '--quiet']);
      }
      if (tmux !== undefined) {
        tmux.start();
        if (before !== undefined) {
          const c: Contender = { label: `before: bubble top (${before})`, samples: [] };
          c.pid = tmux.open('mem-top-before', [before, 'top', '--interval', '1s', '--db', path.join(tmp, 'before-top.db')]);
          contenders.push(c);
        }
        const top: Contender = { label: 'bubble top --interval 1s, recording', samples: [] };
        top.pid = tmux.open('mem-top', [cli, 'top', '--interval', '1s', '--db', path.join(tmp, 'top.db')]);
        contenders.push(top);
        if (which('htop') !== undefined) {
          const home = path.join(tmp, 'htop-home');
          const htop: Contender = { label: 'htop -d 10', samples: [] };
          htop.pid = tmux.open('mem-htop', ['htop', '-d', '10'], { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') });
          contenders.push(htop);
        } else notes.push('htop not installed: no htop row');
      } else notes.push('tmux not installed: no bubble top or htop rows');
      await Promise.all(spawned);
      for (const c of contenders) c.pid ??= c.child?.pid;

      await sleep(SETTLE_S * 1000);
      const processes = countProcesses().processes;
      for (let s = 0; s < WINDOW_S; s++) {
        for (const c of contenders) {
          const r = readRss(c.pid!);
          if (r === undefined) throw new Error(`${c.label} ended during the memory window`);
          c.samples.push(r);
        }
        await sleep(1000);
      }

      const figures = new Map<Contender, ReturnType<typeof summary>>();
      for (const c of contenders) figures.set(c, summary(c.samples));
      const htop = contenders.find((c) => c.label.startsWith('htop'));
      const atopC = contenders.find((c) => c.label.startsWith('atop'));
      for (const c of contenders) {
        const { steady, max } = figures.get(c)!;
        const peer = c.label.startsWith('bubble top') ? htop : c === record ? atopC : undefined;
        rows.push({
          label: `${c.label}: VmRSS ${fmt(steady.vmRss)} = anon ${fmt(steady.anon)} + file ${fmt(steady.file)}`,
          note: `max ${fmt(max.vmRss)}, anon max ${fmt(max.anon)}`,
          n: c.samples.length,
          ...(peer !== undefined && { ratio: steady.vmRss / figures.get(peer)!.steady.vmRss }),
        });
      }
      const top = contenders.find((c) => c.label.startsWith('bubble top'));
      if (top !== undefined) {
        checks.push({ name: 'bubble top VmRSS, steady', measured: mb(figures.get(top)!.steady.vmRss), limit: TOP_BUDGET_MB, unit: 'MB' });
      }
      checks.push({ name: 'bubble record VmRSS, steady', measured: mb(figures.get(record)!.steady.vmRss), limit: RECORD_BUDGET_MB, unit: 'MB' });
      const bare = figures.get(floor)!.steady;
      notes.push(
        `VmRSS, RssAnon and RssFile from /proc/PID/status every second for ${WINDOW_S} s from ${SETTLE_S} s after launch, ` +
          `${processes} processes in /proc; steady = median of the window's second half; ratio: bubble top vs htop, bubble record vs atop`,
      );
      notes.push(
        `the floor: a bare Node holds ${fmt(bare.vmRss)} (${fmt(bare.file)} of it file pages, mostly node's own binary); ` +
          'bubble record adds better-sqlite3 (~7 MB with the node pages its loading touches) and its heap',
      );
      return { title: `resident memory beside htop and atop, ${WINDOW_S} s at once`, ratioOf: 'vs peer', rows, checks, notes };
    } finally {
      cleanUp();
      process.off('exit', cleanUp);
    }
  },
};

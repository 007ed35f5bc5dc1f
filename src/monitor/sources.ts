/**
 * Which sources complete the procfs tick, chosen in one place for `record`, `top` and `serve` (their `--source`,
 * `--bpf-errors`, `--bpf-files` and the config file's bpf.errors and bpf.files), and how they are doing, for a stderr
 * line or the TUI's status line.
 *
 * - procfs+bpf, the default where bpftrace can run (installed, root, tracefs mounted): procfs ticks completed by
 *   bpftrace (native/bpf/bubble.bt): processes that lived between two ticks, socket bytes per process, files opened by
 *   short-lived processes, failed syscalls. Where it cannot run, procfs alone, and one line says why.
 * - bpf: the same, but bpftrace's absence is an error.
 * - procfs: /proc and cgroups alone.
 * - both: procfs completed by sysdig's events; if sysdig cannot run, procfs goes on and the reason is a gap.
 * `sysdig` alone (whole snapshots from the bridge: a pipe, a capture) is record's own path, not a tick source.
 *
 * `top` runs bpftrace whether it records or not: its live views (short-lived processes, NET/s per process, the errors
 * pane) need it, and a `record` that holds the store runs its own. bpftrace is started by start(), so `top` can start
 * it after its first frame.
 */
import { bpfAvailability, BpfTickSource, MAX_RESTARTS } from '../collectors/bpf-ingest.js';
import type { BpfAvailability, BpfUnavailable } from '../collectors/bpf.js';
import { completeSnapshot, SysdigIngest } from '../collectors/sysdig-ingest.js';
import { runBridge, type BridgeRun } from '../collectors/sysdig.js';
import { BubbleError } from '../errors/bubble-error.js';
import type { Snapshot } from '../model/snapshot.js';
import type { LiveSourceName } from '../model/source-names.js';
import type { TickSource } from '../model/tick-source.js';

/** What the user asked for: flags over the config file. */
export interface SourceChoice {
  /** undefined: the default (procfs+bpf where bpftrace can run, else procfs). */
  readonly source?: LiveSourceName;
  /** bpftrace's syscall-error probe (`--bpf-errors off`, config `"bpf": {"errors": false}`). @default true */
  readonly bpfErrors?: boolean;
  /** bpftrace's files-opened probes (`--bpf-files off`, config `"bpf": {"files": false}`). @default true */
  readonly bpfFiles?: boolean;
  /** The bpftrace binary. @default `bpftrace` from PATH */
  readonly bpftraceBin?: string;
  /** The sysdig binary (`both`). @default `sysdig` from PATH */
  readonly sysdigBin?: string;
}

export interface SourceRunOptions {
  readonly intervalMs: number;
  /** `both`: the bridge's output from this stream (`record --source both -`) instead of spawning sysdig. */
  readonly sysdigStdin?: NodeJS.ReadableStream;
  /** The command's stop signal: sysdig ending after it is no failure (it got the same SIGINT). */
  readonly signal?: AbortSignal;
  /** Test hook: whether bpftrace can run here. @default bpfAvailability() */
  readonly availability?: (options: { readonly bin?: string }) => BpfAvailability;
}

/** One item of a status line: `bpf ok`, `bpf off: not root (sudo)`, `sysdig off`. */
export interface SourceStatus {
  readonly name: 'bpf' | 'sysdig';
  readonly level: 'ok' | 'warn' | 'off';
  readonly text: string;
}

/** Why bpftrace does not run: not asked for, or it cannot run here (`why` is one line saying what to do). */
export interface BpfOff {
  readonly reason: BpfUnavailable | 'not-chosen';
  readonly why: string;
}

/** The status line's short words for each reason bpftrace cannot run. */
const OFF_TEXT: Readonly<Record<BpfUnavailable, string>> = {
  'not-installed': 'bpf off: bpftrace not installed (apt-get install bpftrace)',
  'not-root': 'bpf off: not root (sudo)',
  'no-tracefs': 'bpf off: tracefs not mounted (mount -t tracefs nodev /sys/kernel/tracing)',
};

/**
 * The one choice of sources for record, top and serve. Nothing is started yet (start() does it); `--source bpf`
 * where bpftrace cannot run throws a BubbleError saying why, before anything else is opened.
 */
export function chooseSources(choice: SourceChoice, options: SourceRunOptions): TickSources {
  const source = choice.source;
  const wantsBpf = source === undefined || source === 'bpf' || source === 'procfs+bpf';
  let bpf: BpfPlan | undefined;
  let off: BpfOff | undefined;
  if (wantsBpf) {
    const can = (options.availability ?? bpfAvailability)(choice.bpftraceBin === undefined ? {} : { bin: choice.bpftraceBin });
    if (!can.ok && source === 'bpf') throw new BubbleError(`--source bpf: ${can.why}`);
    if (can.ok) bpf = { bin: can.bin, errors: choice.bpfErrors !== false, files: choice.bpfFiles !== false };
    else off = { reason: can.reason, why: can.why };
  } else {
    off = { reason: 'not-chosen', why: `--source ${source}` };
  }
  // procfs+bpf (asked for, or the default) is procfs where bpftrace cannot run.
  const runs = source === undefined || source === 'procfs+bpf' ? (bpf === undefined ? 'procfs' : 'procfs+bpf') : source;
  return new TickSources({ source: runs, sysdig: source === 'both', bpf, off }, choice, options);
}

/** bpftrace as it will run: its binary and which of its switchable probes are in. */
interface BpfPlan {
  readonly bin: string;
  readonly errors: boolean;
  readonly files: boolean;
}

interface Plan {
  /** What runs: the default resolved. */
  readonly source: LiveSourceName;
  readonly sysdig: boolean;
  readonly bpf: BpfPlan | undefined;
  readonly off: BpfOff | undefined;
}

/** The chosen sources: started once, then asked how they are doing. */
export class TickSources {
  /** procfs+bpf, procfs, bpf or both: the default resolved to what runs here. */
  readonly source: LiveSourceName;
  /** Why bpftrace does not run; undefined when it does. */
  readonly bpfOff: BpfOff | undefined;
  private readonly plan: Plan;
  private readonly choice: SourceChoice;
  private readonly options: SourceRunOptions;
  private bpf_: BpfTickSource | undefined;
  private sysdig_: SysdigTickSource | undefined;
  private started = false;

  constructor(plan: Plan, choice: SourceChoice, options: SourceRunOptions) {
    this.plan = plan;
    this.source = plan.source;
    this.bpfOff = plan.off;
    this.choice = choice;
    this.options = options;
  }

  get bpf(): BpfTickSource | undefined {
    return this.bpf_;
  }

  get sysdig(): SysdigTickSource | undefined {
    return this.sysdig_;
  }

  /** Starts bpftrace and sysdig as chosen; the tick sources for the monitor (none the second time). */
  start(): TickSource[] {
    if (this.started) return [];
    this.started = true;
    if (this.plan.sysdig) {
      this.sysdig_ = new SysdigTickSource(
        {
          intervalMs: this.options.intervalMs,
          ...(this.choice.sysdigBin !== undefined && { sysdigBin: this.choice.sysdigBin }),
          ...(this.options.sysdigStdin !== undefined && { stdin: this.options.sysdigStdin }),
        },
        this.options.signal,
      );
    }
    if (this.plan.bpf !== undefined) this.bpf_ = new BpfTickSource({ intervalMs: this.options.intervalMs, ...this.plan.bpf });
    return [...(this.sysdig_ === undefined ? [] : [this.sysdig_]), ...(this.bpf_ === undefined ? [] : [this.bpf_])];
  }

  /**
   * The one stderr line about bpftrace (record, serve): when it has attached, or why it does not run here. Nothing
   * when it was not asked for. Call after start().
   */
  announce(say: (line: string) => void): void {
    const what = this.plan.bpf?.files === false ? 'short-lived processes (their opens not: --bpf-files off)' : 'short-lived processes and their opens';
    if (this.bpf_ !== undefined) this.bpf_.onAttached(() => say(`bpftrace attached: ${what} from now on`));
    else if (this.bpfOff !== undefined && this.bpfOff.reason !== 'not-chosen') say(`procfs only: ${this.bpfOff.why}`);
  }

  /** The status line's items: bpf and sysdig, each ok, off and why, or what went wrong. */
  status(): SourceStatus[] {
    return [this.bpfStatus(), this.sysdigStatus()];
  }

  private bpfStatus(): SourceStatus {
    const off = this.bpfOff;
    if (off !== undefined) {
      return off.reason === 'not-chosen'
        ? { name: 'bpf', level: 'off', text: `bpf off (${off.why})` }
        : { name: 'bpf', level: 'warn', text: OFF_TEXT[off.reason] };
    }
    const bpf = this.bpf_;
    if (bpf === undefined) return { name: 'bpf', level: 'off', text: 'bpf starting' };
    const { phase, why } = bpf.state;
    const probesOff = `${this.plan.bpf?.errors === false ? ', errors off' : ''}${this.plan.bpf?.files === false ? ', files off' : ''}`;
    switch (phase) {
      case 'running':
        return { name: 'bpf', level: 'ok', text: `bpf ok${probesOff}` };
      case 'attaching':
        // bpftrace compiles and attaches its probes for a few seconds (again after a restart).
        return { name: 'bpf', level: 'off', text: bpf.deaths > 0 ? `bpf attaching again (restart ${bpf.deaths} of ${MAX_RESTARTS})` : 'bpf attaching' };
      case 'restarting':
        return { name: 'bpf', level: 'warn', text: `bpf: ${why ?? 'bpftrace ended'}; restarting (${bpf.deaths} of ${MAX_RESTARTS})` };
      case 'failed':
        return { name: 'bpf', level: 'warn', text: `bpf off: ${why ?? 'bpftrace ended'}${bpf.deaths > MAX_RESTARTS ? `, ${bpf.deaths} times` : ''}` };
    }
  }

  private sysdigStatus(): SourceStatus {
    const sysdig = this.sysdig_;
    if (sysdig === undefined) return { name: 'sysdig', level: 'off', text: 'sysdig off' };
    const gap = sysdig.gap();
    return gap === undefined ? { name: 'sysdig', level: 'ok', text: 'sysdig ok' } : { name: 'sysdig', level: 'warn', text: gap };
  }

  /** Gaps that status() says already (a source's failure): a status line need not show them twice. */
  saidGaps(): string[] {
    const said: string[] = [];
    const sysdigGap = this.sysdig_?.gap();
    if (sysdigGap !== undefined) said.push(sysdigGap);
    const phase = this.bpf_?.state.phase;
    const bpfGap = this.bpf_?.gap();
    if (bpfGap !== undefined && (phase === 'restarting' || phase === 'failed')) said.push(bpfGap);
    return said;
  }

  /** Stops bpftrace and sysdig and waits for them to end (their last intervals are in). */
  async stop(): Promise<void> {
    await Promise.all([this.sysdig_?.stop(), this.bpf_?.stop()]);
  }
}

/** The first line of an error's message. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

export interface SysdigSourceOptions {
  readonly intervalMs: number;
  /** The sysdig binary. @default `sysdig` from PATH */
  readonly sysdigBin?: string;
  /** The bridge's output from this stream instead of spawning sysdig. */
  readonly stdin?: NodeJS.ReadableStream;
}

/** sysdig's events as a tick source: completeSnapshot() adds what procfs cannot see, never counting anything twice. */
export class SysdigTickSource implements TickSource {
  readonly ingest: SysdigIngest;
  private failure: string | undefined;
  private readonly run: BridgeRun;

  constructor(options: SysdigSourceOptions, signal?: AbortSignal) {
    this.ingest = new SysdigIngest({ mode: 'complete', parseStats: () => this.run.stats });
    this.run = runBridge(
      {
        ...(options.stdin !== undefined && { stdin: options.stdin }),
        ...(options.sysdigBin !== undefined && { sysdigBin: options.sysdigBin }),
        // The chisel takes whole milliseconds, at least 10.
        intervalMs: Math.max(10, Math.round(options.intervalMs)),
      },
      (records) => this.ingest.push(records),
    );
    // sysdig is optional here: procfs goes on, and the reason is a gap line.
    this.run.done.then(
      () => {
        if (options.stdin === undefined && signal?.aborted !== true) this.failure = 'sysdig: the bridge ended; recording procfs only';
      },
      (error: unknown) => {
        this.failure = `sysdig: ${firstLine(error)}; recording procfs only`;
      },
    );
  }

  get stats(): BridgeRun['stats'] {
    return this.run.stats;
  }

  complete(snapshot: Snapshot): Snapshot {
    return completeSnapshot(snapshot, this.ingest);
  }

  gap(): string | undefined {
    return this.failure;
  }

  async stop(): Promise<void> {
    this.run.stop();
    await this.run.done.catch(() => undefined);
  }

  close(): void {
    this.run.stop();
  }
}

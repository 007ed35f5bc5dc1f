/**
 * The one owner of the tick. A Monitor holds the clock, the Sampler, the previous Sample, the extra sources that
 * complete a tick (sysdig today, more later) and an optional recorder, and emits one Snapshot per tick to whoever
 * listens. `top`, `record`, `ps` and `ls` compose it; none of them runs a loop of its own.
 *
 * A source that makes whole Snapshots of its own (sysdig from a capture or a pipe, timed by its records) hands them to
 * push(): they go to the same recorder and listeners as ticks do.
 */
import type { DockerWatcher } from '../collectors/docker.js';
import type { ProcessFds } from '../collectors/fds.js';
import { Sampler, type SamplerOptions } from '../collectors/sampler.js';
import type { Sample } from '../model/sample.js';
import { toSnapshot, type Snapshot } from '../model/snapshot.js';
import type { TickSource } from '../model/tick-source.js';
import type { Recorder } from '../store/recorder.js';

export type { TickSource } from '../model/tick-source.js';

export interface MonitorOptions {
  readonly intervalMs: number;
  /** Docker names, images and exit codes; short ids without it. */
  readonly docker?: DockerWatcher;
  /** Passed to the Sampler (descriptors, descriptorsEvery, roots for tests). */
  readonly sampler?: SamplerOptions;
  readonly sources?: readonly TickSource[];
}

export type SnapshotListener = (snapshot: Snapshot) => void;

export class Monitor {
  readonly intervalMs: number;
  readonly docker: DockerWatcher | undefined;
  private readonly sampler: Sampler;
  private readonly sources: TickSource[];
  private readonly listeners = new Set<SnapshotListener>();
  private previous: Sample | undefined;
  /** toSnapshot's own last result (before sources complete it): the views it reuses for Sample.unchanged. */
  private lastPlain: Snapshot | undefined;
  private lastSnapshot: Snapshot | undefined;
  private recorder: Recorder | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;
  private closed = false;
  private running = false;
  /** Ticks taken so far (a generation: the live panes know whether their descriptor read is of this tick). */
  ticks = 0;
  /** Wall time of the last completed tick (sample, rates, sources, recorder, listeners), ms; `serve` exposes it. */
  lastTickMs: number | undefined;

  constructor(options: MonitorOptions) {
    this.intervalMs = options.intervalMs;
    this.docker = options.docker;
    this.sampler = new Sampler({ ...options.sampler, ...(options.docker !== undefined && { docker: options.docker }) });
    this.sources = [...(options.sources ?? [])];
  }

  /** A source that starts later completes the ticks from the next one on (`top` starts bpftrace after its first frame). */
  addSource(source: TickSource): void {
    if (this.closed) source.close();
    else this.sources.push(source);
  }

  /** The newest Snapshot, undefined before the first tick. */
  get last(): Snapshot | undefined {
    return this.lastSnapshot;
  }

  get recording(): boolean {
    return this.recorder !== undefined;
  }

  /** Ticks the recorder holds because the store could not take them (a full disk); 0 when not recording. */
  get pendingTicks(): number {
    return this.recorder?.pendingTicks ?? 0;
  }

  /**
   * Takes one tick now: sample, rates, extra sources, then the recorder and the listeners. `descriptors: false` skips
   * the tick's descriptor pass (Sampler.sample()).
   */
  tick(options: { readonly descriptors?: boolean } = {}): Snapshot {
    const started = performance.now();
    const sample = this.sampler.sample(options);
    let snapshot = toSnapshot(sample, this.previous, this.lastPlain);
    this.previous = sample;
    this.lastPlain = snapshot;
    for (const source of this.sources) {
      snapshot = source.complete(snapshot);
      const gap = source.gap();
      if (gap !== undefined) snapshot = { ...snapshot, gaps: [...snapshot.gaps, gap] };
    }
    this.ticks++;
    this.emit(snapshot);
    this.lastTickMs = performance.now() - started;
    this.tickHook?.();
    return snapshot;
  }

  /** A Snapshot made by a source of its own (sysdig alone): recorded and shown like a tick. */
  push(snapshot: Snapshot): void {
    this.ticks++;
    this.emit(snapshot);
  }

  private emit(snapshot: Snapshot): void {
    this.lastSnapshot = snapshot;
    this.recorder?.record(snapshot);
    for (const listener of this.listeners) listener(snapshot);
  }

  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * From now on every snapshot is recorded. The newest one (taken before the store was opened) is recorded at once,
   * so history starts with the first tick the user saw.
   */
  attach(recorder: Recorder): void {
    this.recorder = recorder;
    if (this.lastSnapshot !== undefined) recorder.record(this.lastSnapshot);
  }

  /**
   * Stops recording and closes the recorder's open buckets (its session ends cleanly). Returns the recorder, or
   * undefined when none was attached. Throws what Recorder.finish() throws (the store still cannot be written).
   */
  detach(): Recorder | undefined {
    const recorder = this.recorder;
    this.recorder = undefined;
    recorder?.finish(withoutAccess(this.lastSnapshot));
    return recorder;
  }

  /** Open files and sockets of one process as of the last tick (when the sampler reads descriptors). */
  descriptorsOf(processKey: string): ProcessFds | undefined {
    return this.sampler.descriptorsOf(processKey);
  }

  /**
   * Ticks on multiples of the interval from now until stop(); a late tick does not make the next one early.
   * The first tick is taken at once unless `afterFirst` says one was just taken.
   */
  start(options: { readonly afterFirst?: boolean } = {}): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.nextAt = Date.now();
    if (options.afterFirst !== true) this.tick();
    if (this.running) this.schedule();
  }

  private schedule(): void {
    this.nextAt += this.intervalMs;
    const now = Date.now();
    // Behind (a long tick, a suspended machine, a clock step): the next tick is on the next multiple from now.
    if (this.nextAt < now || this.nextAt - now > this.intervalMs * 2) this.nextAt = now + (this.intervalMs - ((now - this.nextAt) % this.intervalMs));
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (!this.running) return;
        this.tick();
        if (this.running) this.schedule();
      },
      Math.max(0, this.nextAt - now),
    );
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Ticks until `signal` aborts or `durationMs` has passed, then resolves (the recorder stays attached: the caller
   * detaches it). Used by `record`.
   */
  run(signal: AbortSignal, options: { readonly durationMs?: number } = {}): Promise<void> {
    return new Promise((resolve) => {
      const started = Date.now();
      const done = (): void => {
        this.stop();
        this.tickHook = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      if (signal.aborted) return done();
      signal.addEventListener('abort', done, { once: true });
      this.tickHook = () => {
        if (options.durationMs !== undefined && Date.now() - started >= options.durationMs) done();
      };
      this.start();
    });
  }

  private tickHook: (() => void) | undefined;

  /** Stops ticking and closes the sampler and the sources. The recorder, if any, must be detached first. */
  close(): void {
    this.closed = true;
    this.stop();
    this.listeners.clear();
    for (const source of this.sources) source.close();
    this.sampler.close();
  }
}

/**
 * Recorder.finish() writes the closed buckets at the last snapshot's time: without the last snapshot's access
 * observations, or sysdig's opens and bytes of that tick would be added twice.
 */
export function withoutAccess(last: Snapshot | undefined): Snapshot | undefined {
  if (last?.access === undefined) return last;
  const { access: _access, ...rest } = last;
  return rest;
}

/**
 * `bubble record`: samples everything the collectors see into the store until SIGINT/SIGTERM (or --duration), then
 * flushes the open buckets and closes cleanly. One recorder per store file (a lock naming the holder's pid).
 *
 * Sources (`--source`):
 * - procfs (default): procfs and cgroupfs each tick, open files and sockets included.
 * - sysdig: the sysdig bridge alone, live (`sysdig -pc -c bubble.lua`), from a pipe on stdin (`--source sysdig -`),
 *   or from a capture (`--sysdig-capture FILE`, run to its end). Each bridge tick is one snapshot, timed by sysdig.
 * - both: procfs ticks, completed by sysdig's events (bytes per file and connection, short-lived processes) through
 *   completeSnapshot(), which never counts procfs's CPU or bytes twice. If sysdig cannot run, procfs goes on and the
 *   reason is a gap line.
 */
import { DockerWatcher } from '../collectors/docker.js';
import { Sampler } from '../collectors/sampler.js';
import { bridgeStatusLine, completeSnapshot, SysdigIngest } from '../collectors/sysdig-ingest.js';
import { runBridge, skippedLines, type BridgeRecord, type BridgeRun, type SysdigRunOptions } from '../collectors/sysdig.js';
import { UserNames } from '../collectors/users.js';
import { toSnapshot, type Snapshot } from '../model/snapshot.js';
import type { Sample } from '../model/sample.js';
import { openStore, type Store } from '../store/database.js';
import { acquireRecorderLock } from '../store/lock.js';
import { Recorder, type ExitCodeSource } from '../store/recorder.js';
import type { Retention } from '../store/tiers.js';
import type { Output } from './output.js';

export type RecordSource = 'procfs' | 'sysdig' | 'both';

export interface RecordOptions {
  readonly dbPath: string;
  readonly intervalMs: number;
  readonly retention: Retention;
  /** Stop after this long; undefined = until a signal (or the end of the sysdig input). */
  readonly durationMs?: number;
  readonly quiet: boolean;
  /** Ask Docker for names and exit codes. @default true */
  readonly docker?: boolean;
  /** @default 'procfs' */
  readonly source?: RecordSource;
  /** sysdig's part reads bridge output from this stream (`--source sysdig -`) instead of spawning sysdig. */
  readonly sysdigStdin?: NodeJS.ReadableStream;
  /** `--sysdig-capture FILE`: replays a capture through the bridge (sysdig alone) to its end. */
  readonly sysdigCapture?: string;
  /** The sysdig binary. @default `sysdig` from PATH */
  readonly sysdigBin?: string;
  /** The bridge's parse counts every 10 s and at the end, even when no line was skipped. */
  readonly verbose?: boolean;
  /** Cadence of the descriptor pass for idle processes and socket tables (SamplerOptions.descriptorsEvery). */
  readonly descriptorsEvery?: number;
}

/** Status lines about the bridge come at most this often. */
const STATUS_EVERY_MS = 10_000;

function describeError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_FULL') return 'the disk is full';
  if (code === 'SQLITE_BUSY') return 'the store is busy (a reader holds it)';
  if (code === 'SQLITE_READONLY') return 'the store became read-only';
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

function makeRecorder(store: Store, options: RecordOptions, output: Output, docker: DockerWatcher | undefined): Recorder {
  const exitCodes: ExitCodeSource | undefined =
    docker === undefined
      ? undefined
      : {
          exitOf: (id) => {
            const meta = docker.get(id);
            return meta?.exitCode === undefined
              ? undefined
              : { exitCode: meta.exitCode, ...(meta.finishedAtMs !== undefined && { finishedAtMs: meta.finishedAtMs }) };
          },
        };
  return new Recorder(
    store,
    options.retention,
    {
      onWriteError: (error, pending) =>
        output.err(`bubble: cannot write ${store.path}: ${describeError(error)}; still sampling, retrying every tick (${pending} pending)\n`),
      onRecovered: (written) => output.err(`bubble: writing ${store.path} again (${written} ticks caught up)\n`),
    },
    exitCodes,
  );
}

export async function runRecord(options: RecordOptions, output: Output, signal: AbortSignal): Promise<void> {
  const source = options.source ?? 'procfs';
  const sysdigOnly = source === 'sysdig' || options.sysdigCapture !== undefined;
  const store = openStore(options.dbPath);
  let lock: ReturnType<typeof acquireRecorderLock> | undefined;
  // A capture comes from another machine: this host's Docker cannot name its containers.
  const docker = options.docker === false || options.sysdigCapture !== undefined ? undefined : new DockerWatcher();
  try {
    lock = acquireRecorderLock(store);
    await docker?.start({ events: true, timeoutMs: 2000 });
    const recorder = makeRecorder(store, options, output, docker);
    if (sysdigOnly) await recordSysdig(options, output, signal, store, recorder, docker);
    else await recordProcfs(options, output, signal, store, recorder, docker, source === 'both');
  } finally {
    docker?.stop();
    lock?.release();
    store.close();
  }
}

/** Prints the bridge's counts: with --verbose every 10 s, else only when the skipped count grew. */
class BridgeStatus {
  private readonly output: Output;
  private readonly verbose: boolean;
  private readonly quiet: boolean;
  private shownSkipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly line: () => string | undefined;
  private readonly skipped: () => number;

  constructor(output: Output, options: RecordOptions, line: () => string | undefined, skipped: () => number) {
    this.output = output;
    this.verbose = options.verbose === true;
    this.quiet = options.quiet;
    this.line = line;
    this.skipped = skipped;
  }

  start(): void {
    this.timer = setInterval(() => this.report(false), STATUS_EVERY_MS);
    this.timer.unref();
  }

  /** `final`: the run ended; the line is printed when verbose or when any line was ever skipped. */
  report(final: boolean): void {
    const skipped = this.skipped();
    const due = this.verbose || (!this.quiet && (final ? skipped > 0 : skipped > this.shownSkipped));
    if (!due) return;
    const line = this.line();
    if (line === undefined) return;
    this.shownSkipped = skipped;
    this.output.err(`bubble: ${line}\n`);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}

function bridgeOptions(options: RecordOptions): SysdigRunOptions {
  return {
    ...(options.sysdigCapture !== undefined && { capture: options.sysdigCapture }),
    ...(options.sysdigStdin !== undefined && options.sysdigCapture === undefined && { stdin: options.sysdigStdin }),
    ...(options.sysdigBin !== undefined && { sysdigBin: options.sysdigBin }),
    // The chisel takes whole milliseconds, at least 10.
    intervalMs: Math.max(10, Math.round(options.intervalMs)),
  };
}

/** sysdig alone: one snapshot per bridge tick, until the input ends, a signal, or --duration. */
async function recordSysdig(
  options: RecordOptions,
  output: Output,
  signal: AbortSignal,
  store: Store,
  recorder: Recorder,
  docker: DockerWatcher | undefined,
): Promise<void> {
  const capture = options.sysdigCapture;
  const stdin = capture === undefined && options.sysdigStdin !== undefined;
  const live = capture === undefined && !stdin;
  const users = live ? new UserNames() : undefined;
  let run: BridgeRun | undefined;
  const ingest = new SysdigIngest({
    mode: 'snapshots',
    ...(users !== undefined && { userName: (uid: number) => users.name(uid) }),
    ...(docker !== undefined && { containerMeta: (identity) => (identity.kind === 'docker' ? docker.get(identity.id) : undefined) }),
    parseStats: () => run?.stats,
  });
  let last: Snapshot | undefined;
  let announced = false;
  const announce = (): void => {
    if (announced || options.quiet || capture !== undefined) return;
    announced = true;
    const from = stdin ? 'the sysdig bridge output on stdin' : 'sysdig events';
    const until = stdin ? 'the end of its input or Ctrl-C stops' : 'Ctrl-C stops';
    output.err(`bubble: recording ${from} to ${store.path} (pid ${process.pid}); ${until}\n`);
  };
  if (stdin) announce();
  const take = (): void => {
    for (const snapshot of ingest.takeSnapshots()) {
      recorder.record(snapshot);
      last = snapshot;
    }
  };
  const onRecords = (records: BridgeRecord[]): void => {
    // Live sysdig says hello even when its driver is missing (host ''); only a real start is announced.
    if (live && !announced && records.some((r) => r.t === 'hello' && r.host !== '')) announce();
    ingest.push(records);
    take();
  };

  run = runBridge(bridgeOptions(options), onRecords);
  const status = new BridgeStatus(output, options, () => (run === undefined ? undefined : bridgeStatusLine(run.stats, ingest.stats)), () =>
    run === undefined ? 0 : skippedLines(run.stats),
  );
  status.start();
  const stop = (): void => run?.stop();
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  const timer = options.durationMs === undefined || capture !== undefined ? undefined : setTimeout(stop, options.durationMs);
  let failure: unknown;
  try {
    await run.done;
  } catch (error) {
    failure = error;
  } finally {
    signal.removeEventListener('abort', stop);
    if (timer !== undefined) clearTimeout(timer);
    status.stop();
  }
  // What arrived before an end or a failure is kept.
  ingest.finish();
  take();
  recorder.finish(withoutAccess(last));
  if (failure !== undefined) throw failure;

  status.report(true);
  if (options.quiet) return;
  const s = ingest.stats;
  const figures = [
    plural(s.ticks, 'tick'),
    plural(s.processes, 'process', 'processes'),
    plural(s.files, 'file'),
    plural(s.endpoints, 'endpoint'),
    `${plural(skippedLines(run.stats), 'line')} skipped`,
  ].join(', ');
  const dropped = recorder.droppedTicks > 0 ? `, ${recorder.droppedTicks} ticks dropped while the store could not be written` : '';
  if (capture !== undefined) output.err(`bubble: replayed ${capture} into ${store.path}: ${figures}${dropped}\n`);
  else output.err(`bubble: recorded to ${store.path}: ${figures}${dropped}\n`);
}

/** procfs ticks, completed by sysdig when `withSysdig`. */
async function recordProcfs(
  options: RecordOptions,
  output: Output,
  signal: AbortSignal,
  store: Store,
  recorder: Recorder,
  docker: DockerWatcher | undefined,
  withSysdig: boolean,
): Promise<void> {
  const sampler = new Sampler({
    descriptors: true,
    ...(options.descriptorsEvery !== undefined && { descriptorsEvery: options.descriptorsEvery }),
    ...(docker !== undefined && { docker }),
  });
  let run: BridgeRun | undefined;
  let status: BridgeStatus | undefined;
  let sysdigGap: string | undefined;
  const ingest = withSysdig ? new SysdigIngest({ mode: 'complete', parseStats: () => run?.stats }) : undefined;
  try {
    if (ingest !== undefined) {
      const bridge = runBridge(bridgeOptions(options), (records) => ingest.push(records));
      run = bridge;
      // sysdig is optional here: procfs goes on, and the reason is a gap line.
      bridge.done.then(
        () => {
          if (options.sysdigStdin === undefined && !signal.aborted) sysdigGap = 'sysdig: the bridge ended; recording procfs only';
        },
        (error: unknown) => {
          sysdigGap = `sysdig: ${describeError(error)}; recording procfs only`;
        },
      );
      status = new BridgeStatus(output, options, () => bridgeStatusLine(bridge.stats, ingest.stats), () => skippedLines(bridge.stats));
      status.start();
    }
    if (!options.quiet) {
      const what = withSysdig ? 'procfs and sysdig ' : '';
      output.err(`bubble: recording ${what}to ${store.path} every ${options.intervalMs / 1000}s (pid ${process.pid}); Ctrl-C stops\n`);
    }

    const started = Date.now();
    let previous: Sample | undefined;
    let last: Snapshot | undefined;
    let shownGaps = '';
    const tick = (): void => {
      const sample = sampler.sample();
      let snapshot = toSnapshot(sample, previous);
      previous = sample;
      if (ingest !== undefined) snapshot = completeSnapshot(snapshot, ingest);
      if (sysdigGap !== undefined) snapshot = { ...snapshot, gaps: [...snapshot.gaps, sysdigGap] };
      last = snapshot;
      recorder.record(snapshot);
      // The bridge's counts change often; BridgeStatus prints them at its own pace.
      const shown = last.gaps.filter((g) => !g.startsWith('sysdig bridge:'));
      const gaps = shown.join('\n');
      if (gaps !== shownGaps && !options.quiet) {
        for (const gap of shown) output.err(`bubble: ${gap}\n`);
      }
      shownGaps = gaps;
    };

    // Ticks on multiples of the interval from the start; a late tick does not make the next one early.
    let next = Date.now();
    while (!signal.aborted) {
      tick();
      if (options.durationMs !== undefined && Date.now() - started >= options.durationMs) break;
      next += options.intervalMs;
      const now = Date.now();
      if (next < now) next = now + (options.intervalMs - ((now - next) % options.intervalMs));
      await sleepUnless(next - now, signal);
    }

    if (run !== undefined) {
      run.stop();
      await run.done.catch(() => undefined);
      status?.stop();
      status?.report(true);
    }
    recorder.finish(withoutAccess(last));
    if (!options.quiet) {
      const dropped = recorder.droppedTicks > 0 ? `, ${recorder.droppedTicks} dropped while the store could not be written` : '';
      output.err(`bubble: recorded ${recorder.ticks} ticks to ${store.path}${dropped}\n`);
    }
  } finally {
    status?.stop();
    run?.stop();
    sampler.close();
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/**
 * Recorder.finish() writes one more tick at the last snapshot's time: without the last snapshot's access
 * observations, or sysdig's opens and bytes of that tick would be added twice.
 */
function withoutAccess(last: Snapshot | undefined): Snapshot | undefined {
  if (last?.access === undefined) return last;
  const { access: _access, ...rest } = last;
  return rest;
}

function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

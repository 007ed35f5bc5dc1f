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
 * - procfs+bpf: procfs ticks completed by bpftrace (native/bpf/bubble.bt): processes that lived between two ticks
 *   with their container, CPU and exit, and the files they opened, through the same completion. The default when
 *   bpftrace is installed and bubble runs as root; otherwise procfs alone and one line saying why. `bpf` is the
 *   same but insists: without bpftrace it is an error.
 * The procfs sources are chosen as `top` and `serve` choose theirs: src/monitor/sources.ts.
 */
import { DockerWatcher } from '../collectors/docker.js';
import { bridgeStatusLine, SysdigIngest } from '../collectors/sysdig-ingest.js';
import { runBridge, skippedLines, type BridgeRecord, type BridgeRun, type SysdigRunOptions } from '../collectors/sysdig.js';
import { UserNames } from '../collectors/users.js';
import { BubbleError } from '../errors/bubble-error.js';
import { safeText } from '../format.js';
import { Monitor } from '../monitor/monitor.js';
import { Recording } from '../monitor/recording.js';
import { chooseSources, type TickSources } from '../monitor/sources.js';
import { onExitFinish } from '../monitor/stop.js';
import type { SourceName } from '../model/source-names.js';
import type { Recorder } from '../store/recorder.js';
import type { Store } from '../store/database.js';
import type { Retention } from '../store/tiers.js';
import type { Output } from './output.js';
import { descriptorSampler } from '../monitor/sampler-options.js';

export type RecordSource = SourceName;

export interface RecordOptions {
  readonly dbPath: string;
  readonly intervalMs: number;
  readonly retention: Retention;
  /** Stop after this long; undefined = until a signal (or the end of the sysdig input). */
  readonly durationMs?: number;
  readonly quiet: boolean;
  /** Ask Docker for names and exit codes. @default true */
  readonly docker?: boolean;
  /** @default 'procfs+bpf' when bpftrace can run here, else 'procfs' */
  readonly source?: RecordSource;
  /** The bpftrace source's syscall-error probe (`--bpf-errors off` leaves it out). @default true */
  readonly bpfErrors?: boolean;
  /** The bpftrace source's files-opened probes (`--bpf-files off` leaves them out). @default true */
  readonly bpfFiles?: boolean;
  /** The bpftrace binary. @default `bpftrace` from PATH */
  readonly bpftraceBin?: string;
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

/** One line on why a store write failed (serve says it the same way). */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_FULL') return 'the disk is full';
  if (code === 'SQLITE_BUSY') return 'the store is busy (a reader holds it)';
  if (code === 'SQLITE_READONLY') return 'the store became read-only';
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Gap lines (no root, no Docker) are said once, and again only when what is missing changes in kind, not when a count
 * in them changes (a non-root recorder said its two permission lines 15 times in 21 s). The bridge's counts change
 * often; BridgeStatus prints them at its own pace.
 */
export class GapReporter {
  private shown = '';

  /** The lines to print for this tick's gaps (none when nothing changed in kind). */
  lines(gaps: readonly string[]): string[] {
    const shown = gaps.filter((g) => !g.startsWith('sysdig bridge:'));
    const kinds = shown.map((g) => g.replace(/\d+/g, '#')).join('\n');
    if (kinds === this.shown) return [];
    this.shown = kinds;
    return shown;
  }
}

/** Why the store could not be written last (a full disk): what the final line says if the last buckets fail too. */
const lastWriteError: { error: unknown } = { error: undefined };

export async function runRecord(options: RecordOptions, output: Output, signal: AbortSignal): Promise<void> {
  const source = options.source;
  const sysdigOnly = source === 'sysdig' || options.sysdigCapture !== undefined;
  // Chosen before the store is opened: `--source bpf` without bpftrace is an error that leaves nothing behind.
  const sources = sysdigOnly
    ? undefined
    : chooseSources(
        {
          ...(source !== undefined && { source }),
          ...(options.bpfErrors !== undefined && { bpfErrors: options.bpfErrors }),
          ...(options.bpfFiles !== undefined && { bpfFiles: options.bpfFiles }),
          ...(options.bpftraceBin !== undefined && { bpftraceBin: options.bpftraceBin }),
          ...(options.sysdigBin !== undefined && { sysdigBin: options.sysdigBin }),
        },
        { intervalMs: options.intervalMs, signal, ...(options.sysdigStdin !== undefined && { sysdigStdin: options.sysdigStdin }) },
      );
  // A capture comes from another machine: this host's Docker cannot name its containers.
  const docker = options.docker === false || options.sysdigCapture !== undefined ? undefined : new DockerWatcher();
  let recording: Recording | undefined;
  try {
    recording = await Recording.open({
      dbPath: options.dbPath,
      retention: options.retention,
      role: 'record',
      ...(docker !== undefined && { docker }),
      events: {
        onWriteError: (error, pending) => {
          lastWriteError.error = error;
          output.err(`bubble: cannot write ${safeText(options.dbPath)}: ${describeError(error)}; still sampling, retrying every tick (${pending} pending)\n`);
        },
        onRecovered: (written) => output.err(`bubble: writing ${safeText(options.dbPath)} again (${written} ticks caught up)\n`),
        onSkippedTick: (timeMs, skipped) =>
          output.err(
            `bubble: skipped a tick timed ${Number.isFinite(timeMs) ? new Date(timeMs).toISOString() : String(timeMs)}: outside the last tick - 1 day .. now + 1 min (a clock step or a bad source timestamp; ${skipped} skipped so far)\n`,
          ),
      },
    });
    await docker?.start({ events: true, timeoutMs: 2000 });
    if (sources === undefined) await recordSysdig(options, output, signal, recording, docker);
    else await recordProcfs(options, output, signal, recording, docker, sources);
  } finally {
    docker?.stop();
    recording?.close();
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
  recording: Recording,
  docker: DockerWatcher | undefined,
): Promise<void> {
  const store: Store = recording.store;
  const recorder: Recorder = recording.recorder;
  // The bridge's snapshots go through the monitor like ticks: one recorder, one way in.
  const monitor = new Monitor({ intervalMs: options.intervalMs });
  monitor.attach(recorder);
  const cancelExitHook = onExitFinish(() => monitor.detach());
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
    for (const snapshot of ingest.takeSnapshots()) monitor.push(snapshot);
  };
  const onRecords = (records: BridgeRecord[]): void => {
    // Live sysdig says hello even when its driver is missing (host ''); only a real start is announced.
    if (live && !announced && records.some((r) => r.t === 'hello' && r.host !== '')) announce();
    ingest.push(records);
    take();
  };

  run = runBridge(bridgeOptions(options), onRecords);
  const status = new BridgeStatus(
    output,
    options,
    () => (run === undefined ? undefined : bridgeStatusLine(run.stats, ingest.stats)),
    () => (run === undefined ? 0 : skippedLines(run.stats)),
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
  cancelExitHook();
  try {
    finishRecording(monitor, store.path);
  } finally {
    monitor.close();
  }
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

/** procfs ticks through the monitor, completed by the chosen sources (bpftrace, or sysdig). */
async function recordProcfs(
  options: RecordOptions,
  output: Output,
  signal: AbortSignal,
  recording: Recording,
  docker: DockerWatcher | undefined,
  sources: TickSources,
): Promise<void> {
  const store = recording.store;
  const recorder = recording.recorder;
  const started = sources.start();
  const sysdig = sources.sysdig;
  const bpftrace = sources.bpf;
  const monitor = new Monitor({
    intervalMs: options.intervalMs,
    sampler: { ...descriptorSampler(), ...(options.descriptorsEvery !== undefined && { descriptorsEvery: options.descriptorsEvery }) },
    ...(docker !== undefined && { docker }),
    ...(started.length > 0 && { sources: started }),
  });
  let status: BridgeStatus | undefined;
  // SIGKILL aside, a process that exits without reaching the end below (an uncaught error, process.exit) still
  // writes its open buckets.
  const cancelExitHook = onExitFinish(() => monitor.detach());
  try {
    if (sysdig !== undefined) {
      status = new BridgeStatus(
        output,
        options,
        () => bridgeStatusLine(sysdig.stats, sysdig.ingest.stats),
        () => skippedLines(sysdig.stats),
      );
      status.start();
    }
    if (!options.quiet) {
      const what = sysdig !== undefined ? 'procfs and sysdig ' : '';
      output.err(`bubble: recording ${what}to ${safeText(store.path)} every ${options.intervalMs / 1000}s (pid ${process.pid}); Ctrl-C stops\n`);
      sources.announce((line) => output.err(`bubble: ${safeText(line)}\n`));
    }
    const gaps = new GapReporter();
    monitor.onSnapshot((snapshot) => {
      const lines = gaps.lines(snapshot.gaps);
      if (!options.quiet) for (const gap of lines) output.err(`bubble: ${safeText(gap)}\n`);
    });
    monitor.attach(recorder);
    await monitor.run(signal, { ...(options.durationMs !== undefined && { durationMs: options.durationMs }) });

    await sources.stop();
    status?.stop();
    status?.report(true);
    if (bpftrace !== undefined && options.verbose === true) {
      const b = bpftrace.ingest.stats;
      const unmatched = bpftrace.ingest.sysdig.stats.unmatched;
      output.err(
        `bubble: bpftrace: ${b.intervals} intervals, ${b.exits} exits (${b.byParent} filed by their parent's cgroups), ` +
          `${unmatched} processes never matched, ${b.opensDropped} opens, ${b.netBytesDropped} socket bytes, ${b.connectionsDropped} ` +
          `connections and ${b.errorsDropped} failed syscalls without a process, ${b.socketBytesUnattributed} TCP bytes on connections older than bpftrace\n`,
      );
    }
    cancelExitHook();
    finishRecording(monitor, store.path);
    if (!options.quiet) {
      const dropped = recorder.droppedTicks > 0 ? `, ${recorder.droppedTicks} dropped while the store could not be written` : '';
      output.err(`bubble: recorded ${recorder.ticks} ticks to ${safeText(store.path)}${dropped}\n`);
    }
  } finally {
    status?.stop();
    monitor.close();
  }
}

/** Writes the open buckets; a store that still cannot take them is one line, not a stack trace. */
function finishRecording(monitor: Monitor, path: string): void {
  const pending = monitor.pendingTicks;
  try {
    monitor.detach();
  } catch (error) {
    const why = describeError(lastWriteError.error ?? error);
    throw new BubbleError(`could not write the last ${plural(pending, 'tick')} to ${safeText(path)}: ${why}; what was written before is kept`, {
      cause: error,
    });
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

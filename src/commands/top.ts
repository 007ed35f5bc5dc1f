/**
 * `bubble top [container]`: the live TUI on the monitor. It records into the store while it runs (when it can write
 * it and no `bubble record` holds it: a recorder that starts later is handed the store), so history and replay exist
 * without a daemon. Files and sockets are read every tick, as `record` reads them, and recorded the same way. Its sources
 * are chosen as record's (src/monitor/sources.ts); bpftrace runs whether `top` records or not (its live views need it),
 * started after the first frame.
 */
import { DockerWatcher } from '../collectors/docker.js';
import { BubbleError } from '../errors/bubble-error.js';
import { matchContainer } from '../model/match.js';
import type { ContainerView } from '../model/snapshot.js';
import { Monitor } from '../monitor/monitor.js';
import { TopRecording } from '../monitor/recording.js';
import { chooseSources, type SourceChoice } from '../monitor/sources.js';
import { onExitFinish } from '../monitor/stop.js';
import type { ContainerSort, ProcessSort } from '../model/sort.js';
import { DEFAULT_RETENTION, type Retention, type Tier } from '../store/tiers.js';
import { LiveSource } from '../tui/live-source.js';
import type { RunOptions } from '../tui/run.js';
import { descriptorSampler } from '../monitor/sampler-options.js';

/**
 * The first frame shows CPU figures, which need two ticks: the launch tick, then one this long after it (rates are
 * over each counter's own read interval, so a short first interval is exact), then the normal cadence. The TUI's
 * modules load and the store opens in between. Issue 11's budget: names and CPU on screen within 0.5 s of launch.
 */
const FIRST_INTERVAL_MS = 200;
/** How long past FIRST_INTERVAL_MS the second tick waits for Docker's listing (names); later names come a tick later. */
const NAMES_GRACE_MS = 100;

export interface TopOptions {
  readonly container?: string;
  readonly intervalMs: number;
  readonly dbPath: string;
  /** Record into the store while running. */
  readonly record: boolean;
  readonly retention?: Retention;
  /** Ask Docker for names. @default true */
  readonly docker?: boolean;
  /** The scrubber's first tier (--tier, else the config file's). */
  readonly tier?: Tier;
  /** The lists' first sort (the config file's). */
  readonly sort?: { readonly containers?: ContainerSort; readonly processes?: ProcessSort };
  /** false: no colour (the config file's "color"); NO_COLOR still turns it off when this is absent. */
  readonly color?: boolean;
  /** The lists' columns and order (the config file's "columns"). */
  readonly columns?: RunOptions['listColumns'];
  /** `--source`, `--bpf-errors` and the binaries, as for record. @default procfs+bpf where it runs */
  readonly sources?: SourceChoice;
}

/** When the sources that run beside bubble (bpftrace) start: after the first frame. */
const SOURCES_AFTER_MS = 250;

export async function runTop(options: TopOptions): Promise<void> {
  // Say it before starting anything: a pipe gets one line, not a recorder that starts and stops.
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
    throw new BubbleError('bubble top needs a terminal; use bubble ls or bubble ps for plain output');
  }
  const sources = chooseSources(options.sources ?? {}, { intervalMs: options.intervalMs });
  const docker = options.docker === false ? undefined : new DockerWatcher();
  // Names are needed to match a container at launch; otherwise Docker is asked now and the launch ticks do not wait
  // for it longer than NAMES_GRACE_MS.
  const dockerReady = docker?.start({ events: true, timeoutMs: 1500 });
  if (options.container !== undefined) await dockerReady;
  // Names are in Docker's listing, which it announces before it inspects each container (start() waits for those too).
  const dockerListed =
    docker === undefined || dockerReady === undefined
      ? undefined
      : new Promise<void>((done) => {
          const off = docker.onChange(() => {
            off();
            done();
          });
          void dockerReady.then(() => {
            off();
            done();
          });
        });
  const monitor = new Monitor({ intervalMs: options.intervalMs, sampler: descriptorSampler(), ...(docker !== undefined && { docker }) });
  let recording: TopRecording | undefined;
  let cancelExitHook = (): void => {};
  try {
    // The first tick decides whether the container exists before anything is written: `top nosuch` records nothing.
    // The two launch ticks leave out the descriptor pass (most of a cold tick): the panes read from the first regular one.
    const firstAt = performance.now();
    const first = monitor.tick({ descriptors: false });
    const containerKey = options.container === undefined ? undefined : resolve(options.container, first.containers);
    // Loaded here, not imported above: Ink and React load while the first interval runs.
    const tui = import('../tui/run.js');
    tui.catch(() => undefined); // awaited below; a failure before that must not be an unhandled rejection
    recording = await TopRecording.start(monitor, {
      dbPath: options.dbPath,
      record: options.record,
      retention: options.retention ?? DEFAULT_RETENTION,
      ...(docker !== undefined && { docker }),
    });
    // A closed terminal or a signal that ends the process anyway still gets the open buckets written.
    const opened = recording;
    cancelExitHook = onExitFinish(() => opened.close());
    const { runTui } = await tui;
    await untilSecondTick(firstAt, dockerListed);
    monitor.tick({ descriptors: false });
    monitor.start({ afterFirst: true });
    // bpftrace compiles its probes for seconds on a core of its own: started once the first frame is out, so it does
    // not compete with it.
    const later = setTimeout(() => {
      for (const s of sources.start()) monitor.addSource(s);
    }, SOURCES_AFTER_MS);
    const source = new LiveSource(monitor, recording, sources);
    try {
      await runTui(source, {
        command: 'top',
        ...(containerKey !== undefined && { containerKey }),
        ...(options.tier !== undefined && { tier: options.tier }),
        ...(options.sort !== undefined && { sort: options.sort }),
        ...(options.color === false && { color: false }),
        ...(options.columns !== undefined && { listColumns: options.columns }),
      });
    } finally {
      clearTimeout(later);
      source.close();
    }
  } finally {
    monitor.stop();
    cancelExitHook();
    try {
      recording?.close();
    } finally {
      monitor.close();
      docker?.stop();
    }
  }
}

/** Until FIRST_INTERVAL_MS after the first tick, and then until Docker answered or NAMES_GRACE_MS more passed. */
async function untilSecondTick(firstAt: number, dockerListed: Promise<void> | undefined): Promise<void> {
  const wait = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, Math.max(0, ms)));
  await wait(firstAt + FIRST_INTERVAL_MS - performance.now());
  if (dockerListed !== undefined) await Promise.race([dockerListed, wait(firstAt + FIRST_INTERVAL_MS + NAMES_GRACE_MS - performance.now())]);
}

function resolve(query: string, containers: readonly ContainerView[]): string {
  return matchContainer(query, containers).key;
}

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
import { runTui, type RunOptions } from '../tui/run.js';

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
  // Names are needed to match a container at launch; otherwise the first frame does not wait for Docker.
  if (options.container !== undefined) await docker?.start({ events: true, timeoutMs: 1500 });
  else if (docker !== undefined) setImmediate(() => void docker.start({ events: true, timeoutMs: 1500 }));
  const monitor = new Monitor({ intervalMs: options.intervalMs, sampler: { descriptors: true }, ...(docker !== undefined && { docker }) });
  let recording: TopRecording | undefined;
  let cancelExitHook = (): void => {};
  try {
    // The first tick decides whether the container exists before anything is written: `top nosuch` records nothing.
    const first = monitor.tick();
    const containerKey = options.container === undefined ? undefined : resolve(options.container, first.containers);
    recording = await TopRecording.start(monitor, {
      dbPath: options.dbPath,
      record: options.record,
      retention: options.retention ?? DEFAULT_RETENTION,
      ...(docker !== undefined && { docker }),
    });
    // A closed terminal or a signal that ends the process anyway still gets the open buckets written.
    const opened = recording;
    cancelExitHook = onExitFinish(() => opened.close());
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

function resolve(query: string, containers: readonly ContainerView[]): string {
  return matchContainer(query, containers).key;
}

/**
 * `bubble record`: samples everything the collectors see into the store until SIGINT/SIGTERM (or --duration), then
 * flushes the open buckets and closes cleanly. One recorder per store file (a lock naming the holder's pid).
 */
import { DockerWatcher } from '../collectors/docker.js';
import { Sampler } from '../collectors/sampler.js';
import { toSnapshot, type Snapshot } from '../model/snapshot.js';
import type { Sample } from '../model/sample.js';
import { openStore } from '../store/database.js';
import { acquireRecorderLock } from '../store/lock.js';
import { Recorder } from '../store/recorder.js';
import type { Retention } from '../store/tiers.js';
import type { Output } from './output.js';

export interface RecordOptions {
  readonly dbPath: string;
  readonly intervalMs: number;
  readonly retention: Retention;
  /** Stop after this long; undefined = until a signal. */
  readonly durationMs?: number;
  readonly quiet: boolean;
  /** Ask Docker for names and exit codes. @default true */
  readonly docker?: boolean;
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_FULL') return 'the disk is full';
  if (code === 'SQLITE_BUSY') return 'the store is busy (a reader holds it)';
  if (code === 'SQLITE_READONLY') return 'the store became read-only';
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

export async function runRecord(options: RecordOptions, output: Output, signal: AbortSignal): Promise<void> {
  const store = openStore(options.dbPath);
  let lock: ReturnType<typeof acquireRecorderLock> | undefined;
  const docker = options.docker === false ? undefined : new DockerWatcher();
  let sampler: Sampler | undefined;
  try {
    lock = acquireRecorderLock(store);
    await docker?.start({ events: true, timeoutMs: 2000 });
    sampler = new Sampler(docker === undefined ? {} : { docker });
    const recorder = new Recorder(
      store,
      options.retention,
      {
        onWriteError: (error, pending) =>
          output.err(`bubble: cannot write ${store.path}: ${describeError(error)}; still sampling, retrying every tick (${pending} pending)\n`),
        onRecovered: (written) => output.err(`bubble: writing ${store.path} again (${written} ticks caught up)\n`),
      },
      docker === undefined
        ? undefined
        : {
            exitOf: (id) => {
              const meta = docker.get(id);
              return meta?.exitCode === undefined
                ? undefined
                : { exitCode: meta.exitCode, ...(meta.finishedAtMs !== undefined && { finishedAtMs: meta.finishedAtMs }) };
            },
          },
    );
    if (!options.quiet) {
      output.err(`bubble: recording to ${store.path} every ${options.intervalMs / 1000}s (pid ${process.pid}); Ctrl-C stops\n`);
    }

    const started = Date.now();
    let previous: Sample | undefined;
    let last: Snapshot | undefined;
    let shownGaps = '';
    const tick = (): void => {
      const sample = sampler!.sample();
      last = toSnapshot(sample, previous);
      previous = sample;
      recorder.record(last);
      const gaps = last.gaps.join('\n');
      if (gaps !== shownGaps && !options.quiet) {
        for (const gap of last.gaps) output.err(`bubble: ${gap}\n`);
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

    recorder.finish(last);
    if (!options.quiet) {
      const dropped = recorder.droppedTicks > 0 ? `, ${recorder.droppedTicks} dropped while the store could not be written` : '';
      output.err(`bubble: recorded ${recorder.ticks} ticks to ${store.path}${dropped}\n`);
    }
  } finally {
    sampler?.close();
    docker?.stop();
    lock?.release();
    store.close();
  }
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

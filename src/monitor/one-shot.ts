/**
 * One-shot live snapshots for `ps` and `ls`: a monitor ticks twice, `intervalMs` apart, and the second tick's rates are
 * the answer. Docker names are listed once (no event stream for a one-shot), overlapping the interval.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerWatcher } from '../collectors/docker.js';
import type { SamplerOptions } from '../collectors/sampler.js';
import type { Snapshot } from '../model/snapshot.js';
import type { TickSource } from '../model/tick-source.js';
import { Monitor } from './monitor.js';

export interface OneShotOptions {
  readonly intervalMs: number;
  /**
   * Ask Docker for names. @default true. A watcher given here is used and left running: the caller reads its listing
   * (every container Docker knows, exited ones too) and stops it.
   */
  readonly docker?: boolean | DockerWatcher;
  readonly sampler?: SamplerOptions;
  /** Sources that complete both ticks (bpftrace for `ps --errors`); closed with the monitor. */
  readonly sources?: readonly TickSource[];
}

export async function liveSnapshot(options: OneShotOptions): Promise<Snapshot> {
  const docker = options.docker === false ? undefined : options.docker === undefined || options.docker === true ? new DockerWatcher() : options.docker;
  const own = docker !== options.docker;
  try {
    const listing = docker?.start({ events: false, timeoutMs: Math.max(1000, options.intervalMs) });
    const monitor = new Monitor({
      intervalMs: options.intervalMs,
      ...(docker !== undefined && { docker }),
      ...(options.sampler !== undefined && { sampler: options.sampler }),
      ...(options.sources !== undefined && { sources: options.sources }),
    });
    try {
      monitor.tick();
      await sleep(options.intervalMs);
      await listing;
      return monitor.tick();
    } finally {
      monitor.close();
    }
  } finally {
    if (own) docker?.stop();
  }
}

/**
 * One-shot live snapshots for `ps` and `ls`: two samples `intervalMs` apart give rates. Docker names are listed once
 * (no event stream needed for a one-shot).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerWatcher } from '../collectors/docker.js';
import { Sampler, type SamplerOptions } from '../collectors/sampler.js';
import { toSnapshot, type Snapshot } from '../model/snapshot.js';

export interface LiveOptions {
  readonly intervalMs: number;
  /**
   * Ask Docker for names. @default true. A watcher given here is used and left running: the caller reads its listing
   * (every container Docker knows, exited ones too) and stops it.
   */
  readonly docker?: boolean | DockerWatcher;
  readonly sampler?: SamplerOptions;
}

export async function liveSnapshot(options: LiveOptions): Promise<Snapshot> {
  const docker = options.docker === false ? undefined : options.docker === undefined || options.docker === true ? new DockerWatcher() : options.docker;
  const own = docker !== options.docker;
  try {
    // Listing Docker's containers overlaps the first interval instead of adding to it.
    const listing = docker?.start({ events: false, timeoutMs: Math.max(1000, options.intervalMs) });
    const sampler = new Sampler({ ...options.sampler, ...(docker !== undefined && { docker }) });
    try {
      const first = sampler.sample();
      await sleep(options.intervalMs);
      await listing;
      return toSnapshot(sampler.sample(), first);
    } finally {
      sampler.close();
    }
  } finally {
    if (own) docker?.stop();
  }
}

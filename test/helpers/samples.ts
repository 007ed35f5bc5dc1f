/**
 * Samples for the model's pure functions (toSnapshot and the sources that complete it), built in memory: the tests of
 * rates and completions need exact counters, which no real /proc gives.
 */
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';

const MiB = 1024 * 1024;

/**
 * A Sample `t` seconds after `startMs` (monotonic clock at t s) on a 2-cpu, 8 GiB host booted at `bootTimeMs`, half
 * busy: the processes and containers given, each filed under its key.
 */
export function sampleAt(t: number, startMs: number, bootTimeMs: number, processes: readonly ProcessSample[], containers: readonly ContainerSample[]): Sample {
  return {
    timeMs: startMs + t * 1000,
    monoNs: t * 1e9,
    host: {
      hostname: 'vm',
      ncpu: 2,
      cpuTotalTicks: t * 200,
      cpuIdleTicks: t * 100,
      memTotalBytes: 8192 * MiB,
      memAvailableBytes: 4096 * MiB,
      bootTimeMs,
    },
    processes: new Map(processes.map((p) => [p.key, p])),
    containers: new Map(containers.map((c) => [c.key, c])),
    gaps: [],
  };
}

/**
 * Series rows as the rollup emits them and the writer stores them (container_series, process_series), keyed by the
 * entity's model key (containerKey(), ProcessSample.key) rather than its row id: the writer maps keys to ids.
 */
import type { Tier } from './tiers.js';

export interface ContainerRow {
  readonly tier: Tier;
  /** Bucket start, epoch ms. */
  readonly bucket: number;
  readonly containerKey: string;
  /** CPU time used in the bucket. */
  readonly cpuNs: number;
  /** Memory (working set, else RSS sum), mean over the samples; undefined when never known. */
  readonly memAvg?: number;
  readonly memMax?: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  /** undefined when the container shares the host's network namespace. */
  readonly netRxBytes?: number;
  readonly netTxBytes?: number;
  readonly pidsMax?: number;
  /** Ticks folded into the bucket. */
  readonly samples: number;
  /** Sum of the intervals of those ticks that gave the container figures: rates are over this, not the bucket. */
  readonly sampledMs: number;
}

export interface ProcessRow {
  readonly tier: Tier;
  readonly bucket: number;
  readonly processKey: string;
  readonly cpuNs: number;
  readonly rssAvg: number;
  readonly rssMax: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  /** Socket bytes (bpftrace's source); undefined when nothing measured the process's network. */
  readonly netRxBytes?: number;
  readonly netTxBytes?: number;
  readonly threadsMax: number;
  readonly samples: number;
  /** The time its CPU deltas were over (the process passes' intervals), ms. */
  readonly sampledMs: number;
}

/** Failed syscalls of one process in a bucket (syscall_errors). */
export interface SyscallErrorRow {
  readonly tier: Tier;
  readonly bucket: number;
  readonly processKey: string;
  readonly syscall: string;
  readonly errno: string;
  readonly count: number;
}

export interface SeriesRows {
  readonly containers: readonly ContainerRow[];
  readonly processes: readonly ProcessRow[];
  /** Absent when nothing counted failed syscalls. */
  readonly errors?: readonly SyscallErrorRow[];
}

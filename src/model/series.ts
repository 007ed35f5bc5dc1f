/** One bucket of a sparkline (the scrubber's): what live keeps in memory and the store rebuilds from its tiers. */
export interface SeriesPoint {
  /** Bucket start, epoch ms. */
  readonly timeMs: number;
  /** CPU over the bucket, 100 = one core; undefined when nothing was recorded. */
  readonly cpuPercent?: number;
  /** Memory (average over the bucket), bytes. */
  readonly memoryBytes?: number;
}

/**
 * How two rows of the same bucket merge (ON CONFLICT of an upsert): the recorder's minute, hour and day rows, a
 * session's second rows folded by recovery, a bucket written by several sessions. Sums add, maxima take the max,
 * averages are weighted by samples, and a column unknown on one side keeps the other side's value. One place, so
 * every way into a bucket adds up the same.
 */

/** Weighted by samples; NULL (unknown) on one side keeps the other. */
const avg = (col: string): string =>
  `coalesce(CAST(round((${col} * samples + excluded.${col} * excluded.samples) * 1.0 / (samples + excluded.samples)) AS INTEGER), ${col}, excluded.${col})`;
const max = (col: string): string => `max(coalesce(${col}, excluded.${col}), coalesce(excluded.${col}, ${col}))`;
const add = (col: string): string => `${col} + excluded.${col}`;
const addKnown = (col: string): string => `coalesce(${col} + excluded.${col}, ${col}, excluded.${col})`;

/** SET list for `ON CONFLICT (tier, bucket, container_id) DO UPDATE SET ...`. */
export const MERGE_CONTAINER_SERIES = [
  `cpu_ns = ${add('cpu_ns')}`,
  `mem_avg = ${avg('mem_avg')}`,
  `mem_max = ${max('mem_max')}`,
  `read_bytes = ${add('read_bytes')}`,
  `write_bytes = ${add('write_bytes')}`,
  `net_rx_bytes = ${addKnown('net_rx_bytes')}`,
  `net_tx_bytes = ${addKnown('net_tx_bytes')}`,
  `pids_max = ${max('pids_max')}`,
  // NULL (a row from before sampled_ms existed) stays unknown: readers then use the bucket length.
  `sampled_ms = ${add('sampled_ms')}`,
  `samples = ${add('samples')}`,
].join(',\n        ');

/** SET list for `ON CONFLICT (tier, bucket, process_id) DO UPDATE SET ...`. */
export const MERGE_PROCESS_SERIES = [
  `cpu_ns = ${add('cpu_ns')}`,
  `rss_avg = ${avg('rss_avg')}`,
  `rss_max = ${max('rss_max')}`,
  `read_bytes = ${add('read_bytes')}`,
  `write_bytes = ${add('write_bytes')}`,
  `threads_max = ${max('threads_max')}`,
  // Per-process network bytes are measured by the bpftrace source only: NULL (not measured) on both sides stays NULL.
  `net_rx_bytes = ${addKnown('net_rx_bytes')}`,
  `net_tx_bytes = ${addKnown('net_tx_bytes')}`,
  `sampled_ms = ${add('sampled_ms')}`,
  `samples = ${add('samples')}`,
].join(',\n        ');

/** SET list for `ON CONFLICT (tier, bucket, process_id, syscall, errno) DO UPDATE SET ...`: counts add. */
export const MERGE_SYSCALL_ERRORS = `count = ${add('count')}`;

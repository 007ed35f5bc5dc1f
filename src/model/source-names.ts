/**
 * The names `--source` takes. `top` and `serve` take the live ones (procfs ticks, completed or not); `record` also
 * takes `sysdig`, sysdig's events alone (a pipe or a capture). What each one means is src/monitor/sources.ts's.
 */
export const LIVE_SOURCES = ['procfs+bpf', 'procfs', 'bpf', 'both'] as const;
export const RECORD_SOURCES = [...LIVE_SOURCES, 'sysdig'] as const;

export type LiveSourceName = (typeof LIVE_SOURCES)[number];
export type SourceName = (typeof RECORD_SOURCES)[number];

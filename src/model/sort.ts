/** Orderings shared by `ps`, `ls` and the TUI. Pure; they return new arrays. */
import type { ContainerView, ProcessView } from './snapshot.js';

export const PROCESS_SORTS = ['cpu', 'mem', 'io', 'pid'] as const;
export type ProcessSort = (typeof PROCESS_SORTS)[number];

const io = (p: ProcessView): number => (p.readBytesPerSec ?? 0) + (p.writeBytesPerSec ?? 0);

const PROCESS_KEYS: Readonly<Record<ProcessSort, (p: ProcessView) => number>> = {
  cpu: (p) => p.cpuPercent ?? 0,
  mem: (p) => p.rssBytes,
  io,
  pid: (p) => -p.pid,
};

/** Highest first; ties by pid so the order is stable between ticks. */
export function sortProcesses(processes: readonly ProcessView[], by: ProcessSort): ProcessView[] {
  const key = PROCESS_KEYS[by];
  return [...processes].sort((a, b) => key(b) - key(a) || a.pid - b.pid);
}

export const CONTAINER_SORTS = ['cpu', 'mem', 'net', 'io', 'name'] as const;
export type ContainerSort = (typeof CONTAINER_SORTS)[number];

const CONTAINER_KEYS: Readonly<Record<Exclude<ContainerSort, 'name'>, (c: ContainerView) => number>> = {
  cpu: (c) => c.cpuPercent ?? 0,
  mem: (c) => c.memoryBytes ?? 0,
  net: (c) => (c.netRxBytesPerSec ?? 0) + (c.netTxBytesPerSec ?? 0),
  io: (c) => (c.blkReadBytesPerSec ?? 0) + (c.blkWriteBytesPerSec ?? 0),
};

/** Highest first (name: alphabetical); the `host` pseudo-container always last. */
export function sortContainers(containers: readonly ContainerView[], by: ContainerSort): ContainerView[] {
  const byName = (a: ContainerView, b: ContainerView): number => a.name.localeCompare(b.name);
  const compare =
    by === 'name' ? byName : (a: ContainerView, b: ContainerView) => CONTAINER_KEYS[by](b) - CONTAINER_KEYS[by](a) || byName(a, b);
  return [...containers].sort((a, b) => {
    if ((a.kind === 'host') !== (b.kind === 'host')) return a.kind === 'host' ? 1 : -1;
    return compare(a, b);
  });
}
